"""Lesson 01's reactions as they happen in time: the payment service publishes a payment every
`every_s` simulated seconds while three services poll the channel, each at its own pace, and
react. Nothing waits for anything: shipping may have shipped the first order before the second
payment is even made. Time is virtual, so the run is the same every time; the broker's trace
keeps when each hop happened, and `draw_timeline(trace, x="time")` plots it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.domain.services import AnalyticsDashboard, ReceiptMailer, ShippingService
from eda_lib.messaging import Consumer, Producer
from eda_lib.trace import Trace

POLL_EVERY_S = {"shipping": 0.5, "analytics": 1.5, "receipts": 0.75}


@dataclass(frozen=True)
class LiveRun:
    trace: Trace
    published_at: dict[str, float]
    """Payment id -> seconds after the start when it was published."""
    handled_at: dict[tuple[str, str], float]
    """(group, payment id) -> seconds after the start when that group handled it."""


async def live_reactions(
    *,
    payments: int = 4,
    every_s: float = 1.0,
    poll_every_s: dict[str, float] | None = None,
    tick_s: float = 0.25,
    seed: int = 1,
) -> LiveRun:
    """Run the payment service and the three reacting services side by side for as long as
    it takes them to handle every payment (bounded: a minute of simulated time)."""
    polls = dict(poll_every_s or POLL_EVERY_S)
    clock = VirtualClock()
    start = clock.now()
    async with InMemoryBroker(seed=seed, clock=clock) as broker:
        await broker.create_topic("payments")
        producer = Producer(broker, "payment-service")
        services = {
            "shipping": ShippingService().handle,
            "analytics": AnalyticsDashboard().handle,
            "receipts": ReceiptMailer().handle,
        }
        consumers = {
            group: Consumer(
                broker, group, "payments", services[group], name=f"{group}-1", start="earliest"
            )
            for group in polls
        }
        for consumer in consumers.values():
            await consumer.start()
        published = 0
        for tick in range(round(60 / tick_s)):
            now = tick * tick_s
            if published < payments and now >= published * every_s:
                published += 1
                payment = PaymentSuccessful(
                    payment_id=f"pay-{published}",
                    order_id=f"order-{published}",
                    amount=1000 * published,
                    currency="usd",
                )
                await producer.send("payments", payment)
            for group, consumer in consumers.items():
                every = max(1, round(polls[group] / tick_s))
                if tick % every == every - 1:  # each polls at the end of its own interval
                    await consumer.run(max_events=payments)
            if published == payments and all(c.handled == payments for c in consumers.values()):
                break
            clock.advance(tick_s)
        for consumer in consumers.values():
            await consumer.stop()

    def seconds(hop_time: datetime) -> float:
        return (hop_time - start).total_seconds()

    trace = broker.trace
    ids = {hop.event_id: hop for hop in trace.select("produced")}
    return LiveRun(
        trace,
        {f"pay-{n + 1}": seconds(hop.time) for n, hop in enumerate(ids.values())},
        {
            (hop.group, f"pay-{list(ids).index(hop.event_id) + 1}"): seconds(hop.time)
            for hop in trace.select("handled")
        },
    )
