"""eda_lib on Kafka speaks plain Kafka and plain CloudEvents: other clients read what it writes,
and it reads what they write."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, from_structured, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from eda_lib import Consumer, Event, PaymentSuccessful, Producer
from eda_lib.codecs import KafkaBinary, StructuredJson
from eda_lib.kafka import KafkaBroker

pytestmark = pytest.mark.kafka


@pytest.fixture
def topic() -> str:
    return f"interop-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("codec", [KafkaBinary(), StructuredJson()], ids=lambda c: c.name)
async def test_a_plain_client_and_the_sdk_read_what_eda_lib_writes(
    broker: KafkaBroker, topic: str, codec: KafkaBinary | StructuredJson
) -> None:
    await broker.create_topic(topic, partitions=2)
    event = PaymentSuccessful(payment_id="pay-1", order_id="order-1", amount=12000, currency="usd")
    report = await Producer(broker, codec=codec).send(topic, event)

    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        auto_offset_reset="earliest",
        group_id=f"plain-{topic}",
    )
    await reader.start()
    try:
        fetched = await reader.getmany(timeout_ms=10_000)
    finally:
        await reader.stop()
    [record] = [r for records in fetched.values() for r in records]
    assert (record.partition, record.offset, record.key) == (
        report.partition,
        report.offset,
        b"order-1",
    )
    headers = dict(record.headers)
    message = KafkaMessage(headers=headers, key=record.key, value=record.value)
    if isinstance(codec, KafkaBinary):  # the attributes in ce_ headers, the data as the value
        assert headers["ce_specversion"] == b"1.0"
        assert headers["content-type"] == b"application/json"
        parsed = from_binary(message, JSONFormat())
    else:  # the whole event as the value
        assert headers["content-type"].startswith(b"application/cloudevents+json")
        parsed = from_structured(message, JSONFormat())
    assert parsed.get_id() == str(event.id)
    assert parsed.get_type() == "PaymentSuccessful"
    assert parsed.get_source() == "/payment-service"
    assert parsed.get_time() == event.time
    assert parsed.get_subject() == "order-1"
    assert parsed.get_data() == event.data()
    document = json.loads(record.value)
    assert (document if isinstance(codec, KafkaBinary) else document["data"]) == event.data()


async def test_eda_lib_reads_what_a_plain_producer_writes_in_binary_mode(
    broker: KafkaBroker, topic: str
) -> None:
    await broker.create_topic(topic, partitions=1)
    attributes = {
        "id": str(uuid.uuid4()),
        "source": "/go-payment-service",
        "type": "PaymentSuccessful",
        "time": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        "datacontenttype": "application/json",
        "subject": "order-9",
    }
    data = {
        "payment_id": "pay-9",
        "order_id": "order-9",
        "occurred_at": "2026-01-05T09:00:00Z",
        "amount": 4200,
        "currency": "usd",
    }
    message = to_binary(CloudEvent(attributes, data), JSONFormat())
    writer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await writer.start()
    try:
        await writer.send_and_wait(
            topic, message.value, key=b"order-9", headers=list(message.headers.items())
        )
        await writer.send_and_wait(topic, b"not an event", key=b"order-9")
    finally:
        await writer.stop()

    seen: list[Event] = []
    consumer = Consumer(broker, f"eda-{topic}", topic, seen.append, name="reader", start="earliest")
    await consumer.start()
    report = await consumer.run(max_events=2, timeout=20)
    await consumer.stop()
    assert (report.handled, report.dead_lettered) == (1, 1)
    [event] = seen
    assert isinstance(event, PaymentSuccessful)
    assert (event.amount, event.currency, event.source) == (4200, "USD", "/go-payment-service")
    assert str(event.id) == attributes["id"]
