"""Small simulations a learner can poke at, in code or through a widget (lesson 02).

Each lab runs on an `InMemoryBroker` with a virtual clock, so one "tick" is one simulated second
and a run prints the same numbers every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.messaging import Consumer, Producer


@dataclass(frozen=True)
class TickStats:
    tick: int
    published: int
    handled: int
    lag: int
    consumer_up: bool
    rate: int


class BacklogLab:
    """A payment service publishes `rate` payments per tick; a shipping consumer handles at most
    `capacity` per tick while it is up. Take the consumer down and the lag grows; bring it back
    and it catches up at `capacity - rate` per tick, since the broker kept every event."""

    topic = "payments"
    group = "shipping"

    def __init__(self, *, rate: int = 3, capacity: int = 5, partitions: int = 2, seed: int = 0):
        self.clock = VirtualClock()
        self.broker = InMemoryBroker(seed=seed, clock=self.clock)
        self.partitions = partitions
        self.producer = Producer(self.broker, "payment-service")
        self.shipped: list[str] = []
        self.consumer = Consumer(
            self.broker,
            self.group,
            self.topic,
            lambda e: self.shipped.append(e.order_id),
            name="shipping-1",
        )
        self.rate = rate
        self.capacity = capacity
        self.history: list[TickStats] = []
        self._published = 0
        self._ready = False

    async def _setup(self) -> None:
        if not self._ready:
            await self.broker.create_topic(self.topic, partitions=self.partitions)
            await self.consumer.start()
            self._ready = True

    def set_rate(self, rate: int) -> None:
        if not 0 <= rate <= 1000:
            raise ValueError(f"rate is payments per tick, between 0 and 1000, not {rate}")
        self.rate = rate

    async def set_consumer(self, up: bool) -> None:
        """Start or stop the shipping consumer (stopping is what a crash or a deploy looks like
        to the broker: the member leaves the group)."""
        await self._setup()
        if up and not self.consumer.running:
            await self.consumer.start()
        elif not up and self.consumer.running:
            await self.consumer.stop()

    async def tick(self, ticks: int = 1) -> TickStats:
        """Advance `ticks` simulated seconds; returns the state after the last one."""
        await self._setup()
        if not 1 <= ticks <= 10_000:
            raise ValueError(f"ticks must be between 1 and 10,000, not {ticks}")
        for _ in range(ticks):
            self.clock.advance(1)
            for _ in range(self.rate):
                self._published += 1
                n = self._published
                await self.producer.send(
                    self.topic,
                    PaymentSuccessful(
                        payment_id=f"pay-{n}",
                        order_id=f"order-{n}",
                        amount=1000 + n % 90 * 100,
                        currency="USD",
                    ),
                )
            if self.consumer.running:
                await self.consumer.run(max_events=self.capacity)
            state = (await self.broker.describe()).group(self.group)
            self.history.append(
                TickStats(
                    len(self.history) + 1,
                    self._published,
                    len(self.shipped),
                    state.total_lag,
                    self.consumer.running,
                    self.rate,
                )
            )
        return self.history[-1]

    def plot(self) -> Figure:
        """Lag per tick, with the ticks the consumer was down shaded."""
        figure = Figure(figsize=(8, 3.2), dpi=100)
        ax = figure.add_subplot()
        ticks = [s.tick for s in self.history]
        ax.plot(ticks, [s.lag for s in self.history], color="#c44e52", lw=2, label="lag")
        ax.plot(
            ticks,
            [s.published for s in self.history],
            color="#4c72b0",
            lw=1,
            ls="--",
            label="published (total)",
        )
        ax.plot(
            ticks, [s.handled for s in self.history], color="#55a868", lw=1, label="shipped (total)"
        )
        for s in self.history:
            if not s.consumer_up:
                ax.axvspan(s.tick - 0.5, s.tick + 0.5, color="#cccccc", alpha=0.5, lw=0)
        ax.set_xlabel("tick (simulated seconds)")
        ax.set_ylabel("events")
        rates = sorted({s.rate for s in self.history})
        rate = "/".join(map(str, rates)) if rates else str(self.rate)
        ax.set_title(
            f"rate {rate} per tick, capacity {self.capacity} per tick; grey = consumer down",
            fontsize=10,
        )
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.2)
        figure.tight_layout()
        return figure

    def summary(self) -> str:
        if not self.history:
            return "nothing has happened yet: call `await lab.tick()`"
        last = self.history[-1]
        state = "up" if last.consumer_up else "DOWN"
        return (
            f"tick {last.tick}: published {last.published}, shipped {last.handled}, "
            f"lag {last.lag}, consumer {state}"
        )
