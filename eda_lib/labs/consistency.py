"""Lesson 10's eventual consistency, simulated: commands are written at a steady rate, and a
projector catches the read model up every so often. Between catch-ups the read model lags
behind the store, and a read made soon after a write may not see it yet. Time is virtual (a tick
is `tick_s` simulated seconds), so the run is the same every time.

Within a tick: the tick's orders are written, the reads that are due are made, then the projector
runs if it is its time. A lag sample is taken after the writes and again after a catch-up, so the
plot shows the lag at its highest, just before the projector runs."""

from __future__ import annotations

from dataclasses import dataclass

from eda_lib.clock import reproducible
from eda_lib.cqrs.projections import Projector
from eda_lib.domain.order_commands import PlaceOrder, order_bus
from eda_lib.domain.order_views import OrderSummaries
from eda_lib.store.memory import InMemoryEventStore


@dataclass(frozen=True)
class LagSample:
    second: float
    written: int
    """The store's last position."""
    read: int
    """The read model's checkpoint."""

    @property
    def lag(self) -> int:
        return self.written - self.read


@dataclass(frozen=True)
class ConsistencyRun:
    samples: list[LagSample]
    writes: int
    stale_reads: int
    """Reads, `read_after_s` after a write, that did not find the order just placed."""
    orders_per_second: float
    projector_every_s: float
    read_after_s: float

    @property
    def max_lag(self) -> int:
        return max(s.lag for s in self.samples)

    @property
    def final_lag(self) -> int:
        return self.samples[-1].lag


def eventual_consistency(
    *,
    seconds: float = 10.0,
    orders_per_second: float = 4.0,
    projector_every_s: float = 2.0,
    read_after_s: float = 0.0,
    tick_s: float = 0.25,
    seed: int = 0,
) -> ConsistencyRun:
    """Place orders for `seconds`, projecting every `projector_every_s`; `read_after_s` after
    each order, read it back from the read model. The projector runs once more at the end, so
    the last sample shows the read model caught up."""
    if min(seconds, orders_per_second, projector_every_s, tick_s) <= 0:
        raise ValueError("seconds, orders_per_second, projector_every_s and tick_s must be > 0")
    if read_after_s < 0:
        raise ValueError(f"read_after_s is seconds after each write, 0 or more, not {read_after_s}")
    store = InMemoryEventStore()
    bus = order_bus(store)
    view = OrderSummaries()
    projector = Projector(store, view)
    samples = [LagSample(0.0, 0, 0)]
    owed = 0.0
    stale = writes = 0
    ticks = round(seconds / tick_s)
    every = max(1, round(projector_every_s / tick_s))
    delay = round(read_after_s / tick_s)
    reads: list[tuple[int, str]] = []  # (tick it is due, order id), in due order
    with reproducible(seed=seed) as time:
        for tick in range(1, ticks + 1):
            time.clock.advance(tick_s)
            owed += orders_per_second * tick_s
            while owed >= 1:
                owed -= 1
                order_id = f"o{writes}"
                bus.dispatch(PlaceOrder(order_id=order_id, customer_id="c", amount=1_000))
                reads.append((tick + delay, order_id))
                writes += 1
            while reads and reads[0][0] <= tick:
                stale += view.status(reads.pop(0)[1]) is None
            samples.append(LagSample(tick * tick_s, store.last_position(), view.position))
            if tick % every == 0 or tick == ticks:
                projector.catch_up()
                samples.append(LagSample(tick * tick_s, store.last_position(), view.position))
    stale += sum(view.status(order_id) is None for _, order_id in reads)  # due after the end
    return ConsistencyRun(
        samples, writes, stale, orders_per_second, projector_every_s, read_after_s
    )
