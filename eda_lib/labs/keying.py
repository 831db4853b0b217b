"""Lesson 10's keying pitfall: what the message key does to a read model.

The course's CQRS example keys each message by its event type. On a topic with several
partitions, one order's `OrderCreated` and `OrderApproved` then sit on different partitions, and
Kafka keeps order only within a partition: a consumer may see the approval first. How partitions
interleave differs: the in-memory broker serves them in turn, a few records from each per poll;
a Kafka consumer's order depends on when each partition's fetch returns. The naive
read model makes a row for the approval, and the creation then overwrites it with "created".
Keyed by order id, all of one order's events share a partition and arrive in the order they
happened. `keying_trial` runs the same orders both ways on any broker and compares the read model
with the truth, which a projection of the event store gives (the store has one global order).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from eda_lib.brokers.base import Broker
from eda_lib.clock import reproducible
from eda_lib.cqrs.projections import Projector
from eda_lib.domain.order_commands import ApproveOrder, CancelOrder, PlaceOrder, order_bus
from eda_lib.domain.order_views import OrderSummaries
from eda_lib.events import Event
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer
from eda_lib.store.memory import InMemoryEventStore

KeyBy = Literal["event_type", "order_id"]
KeyFunction = Callable[[Event], str | None]
_KEYS: dict[str, KeyFunction] = {
    "event_type": lambda event: event.event_type,
    "order_id": lambda event: event.subject,
}


@dataclass(frozen=True)
class KeyingTrial:
    key_by: str
    """"event_type", "order_id", or the name of the key function used."""
    truth: dict[str, str]
    """Each order's status, projected from the event store in its global order."""
    read_model: dict[str, str]
    """Each order's status in the read model fed by the topic."""
    partitions: dict[str, tuple[int, ...]]
    """Per order, the partition each of its events went to, in the order they happened."""

    @property
    def wrong(self) -> list[str]:
        """The orders whose status in the read model is not their real status."""
        return [o for o, status in self.truth.items() if self.read_model.get(o) != status]


def order_history(orders: int, seed: int = 0) -> InMemoryEventStore:
    """A store where `orders` orders are placed, then every even one approved and every odd
    one cancelled (the course's three order events)."""
    store = InMemoryEventStore()
    bus = order_bus(store)
    with reproducible(seed=seed):
        for n in range(orders):
            bus.dispatch(PlaceOrder(order_id=f"o{n}", customer_id=f"c{n % 3}", amount=1_000 + n))
        for n in range(orders):
            if n % 2:
                bus.dispatch(CancelOrder(order_id=f"o{n}", reason="out of stock"))
            else:
                bus.dispatch(ApproveOrder(order_id=f"o{n}"))
    return store


async def keying_trial(
    broker: Broker,
    key_by: KeyBy | KeyFunction,
    *,
    orders: int = 6,
    partitions: int = 3,
    max_poll_records: int = 2,
    timeout_s: float = 10.0,
) -> KeyingTrial:
    """Publish the orders' events keyed by `key_by` ("event_type", "order_id", or a function
    from event to key) to a new topic, feed a read model from it with one consumer that takes
    at most `max_poll_records` per poll (the consumer's `batch_size`, as Kafka's
    `max.poll.records`), and compare with the truth."""
    key_of = _KEYS[key_by] if isinstance(key_by, str) else key_by
    name = key_by if isinstance(key_by, str) else getattr(key_by, "__name__", "key function")
    store = order_history(orders)
    truth = OrderSummaries()
    Projector(store, truth).catch_up()
    # A name of its own every time (not from the seeded ids): trials may share a Kafka broker.
    topic = f"orders-keyed-{uuid.uuid4().hex[:8]}"
    await broker.create_topic(topic, partitions=partitions)
    try:
        producer = Producer(broker, "order-service")
        placed: dict[str, list[int]] = {}
        for stored in store.read_all():
            event = stored.event
            report = await producer.send(topic, event, key=key_of(event))
            placed.setdefault(event.subject or "", []).append(report.partition)
        await producer.flush()
        view = OrderSummaries()
        consumer = Consumer(
            broker,
            f"{topic}-view",
            topic,
            view.on_event,
            batch_size=max_poll_records,
            start="earliest",
        )
        async with consumer:
            await consumer.run(max_events=store.last_position(), timeout=timeout_s)
    finally:
        await broker.delete_topic(topic)
    return KeyingTrial(
        name,
        truth.statuses(),
        view.statuses(),
        {order: tuple(p) for order, p in placed.items()},
    )
