"""A small scene on the in-memory broker: a producer, a topic, a group with members and lag."""

from __future__ import annotations

from eda_lib import Consumer, InMemoryBroker, Producer
from tests.contract.broker import payment


async def _scene() -> InMemoryBroker:
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=2)
    producer = Producer(broker, "payment-service")
    for i in range(6):
        await producer.send("payments", payment(i))
    await broker.produce("payments", b"oops", key=b"order-0")
    shipping = Consumer(
        broker, "shipping", "payments", lambda e: None, name="shipping-1", start="earliest"
    )
    analytics = Consumer(
        broker, "analytics", "payments", lambda e: None, name="analytics-1", start="earliest"
    )
    for consumer in (shipping, analytics):
        await consumer.start()
        await consumer.run()
    await analytics.stop()
    await producer.send("payments", payment(9))
    return broker
