"""The course's client on a real broker: the same keys placed by a librdkafka producer (what the
course's Go programs run) and by eda_lib's `Producer`, on one 4-partition topic."""

from __future__ import annotations

import uuid
import zlib

import pytest

from eda_lib import Consumer, PaymentSuccessful, Producer
from eda_lib.course import CourseJson, OrderApproved, OrderCancelled, OrderCreated, OrderStatus
from eda_lib.explorer import messages
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka.librdkafka import crash_after_poll, new_group_reads, placements, send_as_course
from eda_lib.viz.offsets import partition_logs

pytestmark = pytest.mark.kafka
KEYS = [f"order-{n}" for n in range(300)]
STATUSES = [OrderStatus(order_id=n, status="pending") for n in (11, 45, 67)]


async def test_go_and_python_producers_split_one_key_unless_both_use_murmur2(
    broker: KafkaBroker,
) -> None:
    topic = f"placements-{uuid.uuid4().hex[:8]}"
    await broker.create_topic(topic, partitions=4)
    producer = Producer(broker)
    ours = {}
    for key in KEYS:  # eda_lib's Producer on KafkaBroker: Kafka's Java rule (murmur2)
        event = PaymentSuccessful(payment_id=key, order_id=key, amount=1, currency="EUR")
        ours[key] = (await producer.send(topic, event)).partition
    course = await placements(KEYS, topic=topic, bootstrap=broker.bootstrap)
    assert course == {key: zlib.crc32(key.encode()) % 4 for key in KEYS}  # CRC32, the default
    split = [key for key in KEYS if course[key] != ours[key]]
    assert 180 <= len(split) <= 260, len(split)  # one order's events on two partitions
    agreed = await placements(
        KEYS, topic=topic, bootstrap=broker.bootstrap, partitioner="murmur2_random"
    )
    assert agreed == ours
    await broker.delete_topic(topic)


async def _topic(broker: KafkaBroker, name: str) -> str:
    topic = f"{name}-{uuid.uuid4().hex[:8]}"
    await broker.create_topic(topic, partitions=1)  # as the course's auto-created topics
    return topic


async def test_a_new_group_with_librdkafkas_defaults_reads_nothing_old(broker: KafkaBroker) -> None:
    topic = await _topic(broker, "old")
    await send_as_course(broker.bootstrap, topic, STATUSES)
    default = await new_group_reads(broker.bootstrap, topic, f"fresh-{topic}")
    assert default.before == [] and default.after == [3]
    earliest = await new_group_reads(
        broker.bootstrap, topic, f"course-{topic}", extra={"auto.offset.reset": "earliest"}
    )
    assert earliest.before == [0, 1, 2, 3] and earliest.after == [4]
    await broker.delete_topic(topic)


async def test_auto_commit_loses_a_message_the_manual_commit_keeps(broker: KafkaBroker) -> None:
    topic = await _topic(broker, "jobs")
    await send_as_course(broker.bootstrap, topic, STATUSES)
    auto = await crash_after_poll(broker.bootstrap, topic, f"auto-{topic}", "auto")
    assert (auto.polled, auto.committed, auto.resumed, auto.lost) == (0, 1, [1, 2], True)
    manual = await crash_after_poll(broker.bootstrap, topic, f"manual-{topic}", "manual")
    assert (manual.committed, manual.resumed, manual.lost) == (None, [0, 1, 2], False)
    await broker.delete_topic(topic)


async def test_the_explorer_and_our_consumer_read_what_the_course_wrote(
    broker: KafkaBroker,
) -> None:
    topic = await _topic(broker, "order-events")
    events = [
        OrderCreated(order_id="o-1", customer_id="cust-1234", amount=150.0),
        OrderApproved(order_id="o-1"),
        OrderCancelled(order_id="o-1", reason="Customer requested cancellation."),
    ]
    await send_as_course(broker.bootstrap, topic, events)
    rows = await messages(broker, topic, codec=CourseJson())
    assert [(r.key, r.event_type) for r in rows] == [
        ("o-1", "OrderCreated"),
        ("o-1", "OrderApproved"),
        ("o-1", "OrderCancelled"),
    ]
    assert "amount=150.0" in rows[0].summary
    unread = await messages(broker, topic)  # read as CloudEvents: not ours, and said so
    assert {r.summary for r in unread} == {"unreadable (missing_attribute)"}
    (log,) = await partition_logs(broker, topic, codec=CourseJson())
    assert log.labels == {0: "o-1\nOrderCreated", 1: "o-1\nOrderApproved", 2: "o-1\nOrderCancelled"}
    handled: list[OrderCreated] = []

    def created(event: OrderCreated) -> None:
        handled.append(event)

    consumer = Consumer(
        broker, f"ours-{topic}", topic, created, start="earliest", codec=CourseJson()
    )
    async with consumer:
        report = await consumer.run()  # until idle
    assert handled == events[:1] and report.processed == 3
    await broker.delete_topic(topic)
