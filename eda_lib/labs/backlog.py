"""Lesson 02's backlog lab: a consumer goes down, the lag grows, it comes back and catches up.

It runs on an `InMemoryBroker` with a virtual clock, so one "tick" is one simulated second and a
run prints the same numbers every time. `eda_lib.viz.plot_backlog` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
            self.broker, self.group, self.topic, self._ship, name="shipping-1", start="earliest"
        )
        self.rate = rate
        self.capacity = capacity
        self.history: list[TickStats] = []
        self._published = 0
        self._ready = False

    def _ship(self, event: PaymentSuccessful) -> None:
        self.shipped.append(event.order_id)

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

    def summary(self) -> str:
        if not self.history:
            return "nothing has happened yet: call `await lab.tick()`"
        last = self.history[-1]
        state = "up" if last.consumer_up else "DOWN"
        return (
            f"tick {last.tick}: published {last.published}, shipped {last.handled}, "
            f"lag {last.lag}, consumer {state}"
        )
