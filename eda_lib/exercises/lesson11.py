"""Self-checking exercises of lesson 11 (publish/subscribe): a fraud subscriber, and a publisher
that wraps another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentUpdated
from eda_lib.exercises.checks import Check, fail
from eda_lib.pubsub import BrokerPublisher, BrokerSubscriber
from eda_lib.resilience import settle


async def check_fraud_subscriber(
    subscribe: Callable[[Any, Callable[..., Awaitable[bool]]], Awaitable[list[str]]],
) -> Check:
    """Lesson 11: subscribe a 'fraud' group that collects payment ids of updates over 100.00."""
    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    publisher = BrokerPublisher(broker)
    # exactly 100.00 is not over it; 10.01 catches a threshold ten times too small
    for n, amount in enumerate((5_000, 25_000, 10_001, 10_000, 1_001)):
        await publisher.publish(
            "payment-update",
            PaymentUpdated(
                payment_id=f"pay-{n}",
                order_id=f"order-{n}",
                amount=amount,
                currency="usd",
                status="success",
            ),
        )

    flagged = await subscribe(BrokerSubscriber(broker, start="earliest", lifetime=10), settle)
    if "fraud" not in {g.group for g in (await broker.describe()).groups}:
        return fail(
            "no 'fraud' group subscribed",
            "subscriber.subscribe('payment-update', 'fraud', handler)",
        )
    if sorted(flagged or []) != ["pay-1", "pay-2"]:
        return fail(
            f"flagged {sorted(flagged or [])}",
            "over 100.00 means amount > 10_000 minor units; wait for all 3 updates",
        )
    return Check(True, "the fraud group got every update and flagged the two large ones.")


async def check_auditing_publisher(publisher_class: Any) -> Check:
    """Lesson 11, exercise 2: a publisher that wraps another, passes each publish on, returns
    its delivery report, and keeps the ids of the events it published in `published`."""
    updates = [
        PaymentUpdated(
            payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency="usd", status="ok"
        )
        for n in range(3)
    ]
    async with InMemoryBroker(seed=11) as broker:
        await broker.create_topic("payment-update", partitions=2)
        try:
            auditing = publisher_class(BrokerPublisher(broker, "audited"))
            reports = [await auditing.publish("payment-update", u) for u in updates]
        except Exception as error:
            return fail(
                f"your code raised {type(error).__name__}: {error}",
                "publish(topic, event) awaits self.inner.publish(topic, event)",
            )
        stored = sum(p.end_offset for p in (await broker.describe()).topic("payment-update"))
    if stored != 3:
        return fail(
            f"{stored} of 3 updates reached the broker",
            "pass every publish on to the publisher you wrap",
        )
    if any(getattr(r, "offset", None) is None for r in reports):
        return fail(
            "publish did not return the delivery report", "return what inner.publish returns"
        )
    if list(getattr(auditing, "published", [])) != [u.id for u in updates]:
        return fail(
            "published does not hold the 3 event ids, in order",
            "append event.id after the inner publish went through",
        )
    return Check(True, "every update passed on, its report returned, its id kept")
