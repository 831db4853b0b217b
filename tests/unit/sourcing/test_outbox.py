"""The outbox (lesson 09): what the store saved reaches the broker, keyed by its aggregate, even
across a crash."""

from __future__ import annotations

from collections import Counter

import pytest

from eda_lib import Consumer, InMemoryBroker, OrderCreated, Producer
from eda_lib.domain import Order
from eda_lib.faults import CrashOnce
from eda_lib.resilience import InMemoryProcessedEvents
from eda_lib.sourcing import Outbox, OutboxCrash, Repository
from eda_lib.store import EventStore


class Shipping:
    """Counts each order it was told about: a double count would be a double shipment."""

    def __init__(self) -> None:
        self.shipped: Counter[str] = Counter()

    def on_created(self, event: OrderCreated) -> None:
        self.shipped[event.order_id] += 1


async def test_a_crash_between_publish_and_checkpoint_loses_nothing(store: EventStore) -> None:
    orders = Repository(store, Order)
    for n in range(6):
        orders.save(Order.place(str(n), "ada", 100 + n))
    async with InMemoryBroker() as broker:
        await broker.create_topic("orders", partitions=3)
        producer = Producer(broker, "outbox")
        outbox = Outbox(
            store, producer, "orders", batch_size=4, crash_after_publish=CrashOnce({"5"})
        )
        with pytest.raises(OutboxCrash, match=r"5-6.*published again"):
            await outbox.publish_pending()
        # positions 1-4 went out and were checkpointed; 5-6 went out, but not the checkpoint
        assert (outbox.position, outbox.pending()) == (4, 2)
        restarted = Outbox(store, producer, "orders", batch_size=4)
        report = await restarted.publish_pending()
        assert (report.published, report.position, restarted.pending()) == (2, 6, 0)
        assert await restarted.publish_pending() == type(report)(0, 6)

        assert len(producer.reports) == 8  # six events, two of them twice

        shipping = Shipping()
        consumer = Consumer(
            broker,
            "shipping",
            "orders",
            shipping.on_created,
            idempotency=InMemoryProcessedEvents(),
            start="earliest",
        )
        async with consumer:
            run = await consumer.run(max_events=8, timeout=2.0)
    assert run.processed == 8
    assert shipping.shipped == Counter({str(n): 1 for n in range(6)})


async def test_outbox_keys_events_by_their_aggregate(store: EventStore) -> None:
    orders = Repository(store, Order)
    for n in range(4):
        order = Order.place(str(n), "ada", 100)
        order.approve()
        orders.save(order)
    async with InMemoryBroker() as broker:
        await broker.create_topic("orders", partitions=3)
        outbox = Outbox(store, Producer(broker), "orders")
        await outbox.publish_pending()
        partitions: dict[str, set[int]] = {}
        for stored, report in zip(store.read_all(), outbox.reports, strict=True):
            partitions.setdefault(stored.stream_id, set()).add(report.partition)
    assert all(len(p) == 1 for p in partitions.values())
