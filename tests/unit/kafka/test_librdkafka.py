"""The course's client (librdkafka, through `confluent_kafka`) on its own mock cluster: where its
default partitioner puts keys, against Kafka's Java rule that aiokafka and eda_lib follow."""

from __future__ import annotations

import zlib

from aiokafka.partitioner import DefaultPartitioner

from eda_lib.kafka.librdkafka import MOCK_PARTITIONS, placements

KEYS = [f"order-{n}" for n in range(300)]
EVERY = list(range(MOCK_PARTITIONS))


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
