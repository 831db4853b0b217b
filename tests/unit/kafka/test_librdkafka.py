"""The course's client (librdkafka, through `confluent_kafka`) on its own mock cluster: where its
default partitioner puts keys, against Kafka's Java rule that aiokafka and eda_lib follow."""

from __future__ import annotations

import zlib

from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, TopicPartition

from eda_lib.course import OrderApproved, OrderCreated, OrderStatus, decode_course, encode_course
from eda_lib.kafka.librdkafka import (
    MOCK_PARTITIONS,
    crash_after_poll,
    mock_cluster,
    new_group_reads,
    placements,
    send_as_course,
)

KEYS = [f"order-{n}" for n in range(300)]
EVERY = list(range(MOCK_PARTITIONS))
STATUSES = [OrderStatus(order_id=n, status="pending") for n in (11, 45, 67)]


def java_rule(key: str) -> int:  # aiokafka's own partitioner: the oracle, not eda_lib's code
    return int(DefaultPartitioner()(key.encode(), EVERY, EVERY))


async def test_librdkafka_places_keys_by_crc32_by_default() -> None:
    placed = await placements(KEYS)
    assert placed == {key: zlib.crc32(key.encode()) % MOCK_PARTITIONS for key in KEYS}


async def test_the_course_client_and_the_java_rule_disagree_on_most_keys_unless_told() -> None:
    default = await placements(KEYS)
    disagree = [key for key in KEYS if default[key] != java_rule(key)]
    # Four partitions: two rules agree by chance on about a quarter of the keys.
    assert 180 <= len(disagree) <= 260, len(disagree)
    fixed = await placements(KEYS, partitioner="murmur2_random")
    assert fixed == {key: java_rule(key) for key in KEYS}


# The same librdkafka on its mock cluster, reached by address as a real broker would be.


async def test_a_new_group_with_librdkafkas_defaults_reads_nothing_old() -> None:
    with mock_cluster() as bootstrap:
        await send_as_course(bootstrap, "old", STATUSES, partition=0)
        default = await new_group_reads(bootstrap, "old", "fresh")
        assert default.before == [] and default.after == [3]  # latest: only what comes next
        earliest = await new_group_reads(
            bootstrap, "old", "course", extra={"auto.offset.reset": "earliest"}
        )
        assert earliest.before == [0, 1, 2, 3] and earliest.after == [4]


async def test_auto_commit_loses_a_message_the_manual_commit_keeps() -> None:
    with mock_cluster() as bootstrap:
        await send_as_course(bootstrap, "jobs", STATUSES, partition=0)
        auto = await crash_after_poll(bootstrap, "jobs", "auto", "auto")
        assert (auto.polled, auto.committed, auto.resumed, auto.lost) == (0, 1, [1, 2], True)
        manual = await crash_after_poll(bootstrap, "jobs", "manual", "manual")
        assert (manual.committed, manual.resumed, manual.lost) == (None, [0, 1, 2], False)


async def test_course_events_travel_as_the_course_sends_them() -> None:
    events = [
        OrderCreated(order_id="o-1", customer_id="c", amount=150.0),
        OrderApproved(order_id="o-1"),
    ]
    with mock_cluster() as bootstrap:
        sent = await send_as_course(bootstrap, "order-events", events)
        placed = zlib.crc32(b"o-1") % MOCK_PARTITIONS  # keyed by order id, CRC32 by default
        assert [(d.key, d.partition) for d in sent] == [("o-1", placed)] * 2
        reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "r", "log_level": 4})
        reader.assign([TopicPartition("order-events", placed, 0)])
        got = [reader.poll(10) for _ in events]
        reader.close()
    for message, event in zip(got, events, strict=True):
        header = ("eventType", event.event_type.encode())
        assert message is not None and message.headers() == [header]
        assert message.value() == encode_course(event)[0]
        assert decode_course(message.value() or b"", (header,)) == event
