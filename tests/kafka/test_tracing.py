"""Trace context on a real broker: the `traceparent` header a watched producer writes travels
through Kafka, and the consumer's span and the event its handler publishes join the trace."""

from __future__ import annotations

import uuid

import pytest

from eda_lib import Consumer, PaymentSuccessful, Producer
from eda_lib.domain import OrderShipped
from eda_lib.kafka import KafkaBroker
from eda_lib.tracing import Telemetry

pytestmark = pytest.mark.kafka


async def test_the_traceparent_header_travels_through_kafka(broker: KafkaBroker) -> None:
    run = uuid.uuid4().hex[:8]
    payments, shipments = f"trace-payments-{run}", f"trace-shipments-{run}"
    for topic in (payments, shipments):
        await broker.create_topic(topic)
    telemetry = Telemetry(seed=1)
    payment = PaymentSuccessful(payment_id="p-1", order_id="o-1", amount=100, currency="EUR")
    await telemetry.watch(Producer(broker, "payment-service")).send(payments, payment)
    shipper = telemetry.watch(Producer(broker, "shipping"))

    async def ship(event: PaymentSuccessful) -> None:
        await shipper.send(shipments, event.follow_up(OrderShipped, order_id=event.order_id))

    for group, topic, handler in [
        (f"shipping-{run}", payments, ship),
        (f"audit-{run}", shipments, lambda event: None),
    ]:
        consumer = Consumer(broker, group, topic, handler, start="earliest")
        async with telemetry.watch(consumer, group.split("-")[0]) as running:
            report = await running.run(max_events=1, timeout=30)
        assert report.handled == 1, report

    (trace_id, spans), *others = telemetry.traces().items()
    assert others == []
    assert [f"{s.resource.attributes['service.name']}: {s.name}" for s in spans] == [
        "payment-service: send " + payments,
        "shipping: process " + payments,
        "shipping: send " + shipments,
        "audit: process " + shipments,
    ]
    assert all(s.attributes and s.attributes["messaging.system"] == "kafka" for s in spans)
    stored = (await broker.read(shipments, 0))[0]  # what Kafka kept: the header, as written
    wanted = f"00-{trace_id:032x}-{spans[2].context.span_id:016x}-01"
    assert stored.header("traceparent") == wanted.encode()
    # The consumer's span also links to the send span that created the record (the conventions).
    assert [link.context.span_id for link in spans[1].links] == [spans[0].context.span_id]
    assert telemetry.metrics()[f"shipping-{run}"] == {"handled": 1, "failed": 0}
