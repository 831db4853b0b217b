"""Lesson 11's publish/subscribe interfaces on the in-memory broker."""

from __future__ import annotations

import asyncio

from eda_lib import InMemoryBroker
from eda_lib.domain import PaymentUpdated
from eda_lib.pubsub import BrokerPublisher, BrokerSubscriber


async def test_subscribers_get_every_update_until_they_cancel() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    publisher = BrokerPublisher(broker, "payment-service")
    subscriber = BrokerSubscriber(broker, start="earliest", lifetime=5)
    seen: dict[str, list[str]] = {"notifications": [], "ledger": []}
    subscriptions = {
        group: await subscriber.subscribe(
            "payment-update", group, lambda e, log=log: log.append(e.status)
        )
        for group, log in seen.items()
    }
    for status in ("success", "refunded"):
        await publisher.publish(
            "payment-update",
            PaymentUpdated(
                payment_id="pay-1", order_id="order-1", amount=12000, currency="usd", status=status
            ),
        )
    for _ in range(100):
        if all(len(log) == 2 for log in seen.values()):
            break
        await asyncio.sleep(0.01)
    assert seen == {"notifications": ["success", "refunded"], "ledger": ["success", "refunded"]}
    await subscriptions["ledger"].cancel()
    assert not subscriptions["ledger"].active and subscriptions["notifications"].active
    await publisher.publish(
        "payment-update",
        PaymentUpdated(
            payment_id="pay-2", order_id="order-2", amount=500, currency="usd", status="success"
        ),
    )
    for _ in range(100):
        if len(seen["notifications"]) == 3:
            break
        await asyncio.sleep(0.01)
    await subscriptions["notifications"].cancel()
    assert len(seen["notifications"]) == 3 and len(seen["ledger"]) == 2
    assert (await broker.describe()).group("ledger").total_lag == 1  # waiting for it


async def test_a_subscription_leaves_its_group_when_its_lifetime_ends() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    subscriber = BrokerSubscriber(broker, start="earliest", lifetime=0.1)
    first = await subscriber.subscribe("payment-update", "g", lambda e: None)
    second = await subscriber.subscribe("payment-update", "g", lambda e: None)  # unique names
    for _ in range(100):
        if not first.active and not second.active:
            break
        await asyncio.sleep(0.02)
    assert not first.active and not second.active
    assert (await broker.describe()).group("g").members == {}
