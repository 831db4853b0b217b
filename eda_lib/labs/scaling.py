"""Lesson 02's scaling, measured: a group of 1, 2, ... members drains the same backlog, each
member on a machine of its own with a handler that takes `seconds_per_event`. The events really
go through the broker and the group's rebalancing; the time is simulated: a member is busy for
its events times `seconds_per_event`, and the group is done when its busiest member is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.messaging import Consumer, Producer


@dataclass(frozen=True)
class ScalingRun:
    members: int
    partitions: int
    handled_by: dict[str, int]
    """Events each member handled (members left idle handled none)."""
    seconds_per_event: float

    @property
    def drain_seconds(self) -> float:
        return max(self.handled_by.values()) * self.seconds_per_event

    @property
    def events_per_second(self) -> float:
        return sum(self.handled_by.values()) / self.drain_seconds

    @property
    def idle(self) -> int:
        return sum(1 for count in self.handled_by.values() if count == 0)


async def scale_out(
    members: int,
    *,
    partitions: int = 4,
    events: int = 48,
    seconds_per_event: float = 0.1,
    seed: int = 2,
) -> ScalingRun:
    """Publish `events` payments keyed by order id to a topic of `partitions`, then let a group
    of `members` consumers drain it; report who handled how many."""
    if members < 1 or seconds_per_event <= 0:
        raise ValueError("members must be at least 1 and seconds_per_event above 0")
    async with InMemoryBroker(seed=seed, clock=VirtualClock()) as broker:
        await broker.create_topic("payments", partitions=partitions)
        await Producer(broker, "payment-service").send_all(
            "payments",
            [
                PaymentSuccessful(
                    payment_id=f"pay-{n}", order_id=f"order-{n}", amount=1000, currency="usd"
                )
                for n in range(events)
            ],
        )
        group = [
            Consumer(
                broker,
                "packing",
                "payments",
                lambda e: None,
                name=f"packer-{n + 1}",
                start="earliest",
            )
            for n in range(members)
        ]
        for consumer in group:
            await consumer.start()
        for consumer in group:
            await consumer.run()
        handled = Counter(hop.actor for hop in broker.trace.select("handled", group="packing"))
        for consumer in group:
            await consumer.stop()
    return ScalingRun(
        members,
        partitions,
        {c.name: handled.get(c.name, 0) for c in group},
        seconds_per_event,
    )
