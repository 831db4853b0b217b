"""Handlers by type: which handler takes an event, read from the handler's annotation."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import pytest

from eda_lib import (
    Consumer,
    Event,
    HandlerError,
    InMemoryBroker,
    OrderCancelled,
    OrderCreated,
    PaymentFailed,
    PaymentSuccessful,
    Producer,
)
from eda_lib.messaging.handlers import event_classes
from tests.contract.broker import payment


async def test_handlers_take_the_events_their_annotation_names(broker: InMemoryBroker) -> None:
    await broker.create_topic("orders")
    producer = Producer(broker)
    await producer.send("orders", OrderCreated(order_id="o1", customer_id="c1", amount=10))
    await producer.send("orders", payment(1, order="o1"))
    await producer.send("orders", OrderCancelled(order_id="o1", reason="changed mind"))
    created: list[str] = []
    cancelled: list[str] = []

    async def on_created(event: OrderCreated) -> None:
        created.append(event.customer_id)

    def on_cancelled(event: OrderCancelled) -> None:
        cancelled.append(event.reason)

    consumer = Consumer(
        broker, "g", "orders", [on_created, on_cancelled], name="m", start="earliest"
    )
    await consumer.start()
    report = await consumer.run()
    assert (created, cancelled) == (["c1"], ["changed mind"])
    assert (report.handled, report.ignored) == (2, 1)
    assert broker.trace.select("ignored")[0].event_type == "PaymentSuccessful"


async def test_the_nearest_handler_wins_and_event_takes_the_rest(broker: InMemoryBroker) -> None:
    await broker.create_topic("orders")
    producer = Producer(broker)
    await producer.send("orders", OrderCreated(order_id="o1", customer_id="c1", amount=10))
    await producer.send("orders", payment(1, order="o1"))
    await producer.send(
        "orders",
        PaymentFailed(payment_id="p", order_id="o1", amount=1, currency="USD", reason="declined"),
    )
    got: list[tuple[str, str]] = []

    def payments(event: PaymentSuccessful | PaymentFailed) -> None:
        got.append(("payments", event.payment_id))

    def everything(event: Event) -> None:
        got.append(("everything", event.event_type))

    consumer = Consumer(broker, "g", "orders", [everything, payments], name="m", start="earliest")
    await consumer.start()
    await consumer.run()
    assert got == [("everything", "OrderCreated"), ("payments", "pay-1"), ("payments", "p")]


def test_handlers_that_cannot_be_dispatched_are_refused(broker: InMemoryBroker) -> None:
    def ship(event: PaymentSuccessful) -> None: ...

    def pack(event: PaymentSuccessful) -> None: ...

    def count(event: int) -> None: ...

    def two(event: Event, extra: int) -> None: ...

    with pytest.raises(HandlerError, match=r"both take PaymentSuccessful.*group of its own"):
        Consumer(broker, "g", "payments", [ship, pack], start="earliest")
    with pytest.raises(HandlerError, match=r"'event: int'.*not an event class"):
        Consumer(broker, "g", "payments", count, start="earliest")
    with pytest.raises(HandlerError, match="requires 2 arguments"):
        Consumer(broker, "g", "payments", two, start="earliest")
    with pytest.raises(HandlerError, match="not by a mapping"):
        Consumer(broker, "g", "payments", {PaymentSuccessful: ship}, start="earliest")  # type: ignore[arg-type]


def test_handlers_are_read_from_what_python_resolves(broker: InMemoryBroker) -> None:
    def ship(event: PaymentSuccessful, warehouse: str) -> None: ...

    def anything(event: Any) -> None: ...

    def tagged(event: Annotated[PaymentFailed, "poison"]) -> None: ...

    def needs_a_database(event: PaymentSuccessful, *, db: object) -> None: ...

    assert event_classes(functools.partial(ship, warehouse="north")) == (PaymentSuccessful,)
    assert event_classes(anything) == (Event,)
    assert event_classes(tagged) == (PaymentFailed,)
    with pytest.raises(HandlerError, match=r"requires 2 arguments.*functools\.partial"):
        Consumer(broker, "g", "payments", needs_a_database, start="earliest")
