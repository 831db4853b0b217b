"""The course's client on a real broker: the same keys placed by a librdkafka producer (what the
course's Go programs run) and by eda_lib's `Producer`, on one 4-partition topic."""

from __future__ import annotations

import uuid
import zlib

import pytest

from eda_lib import PaymentSuccessful, Producer
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka.librdkafka import placements

pytestmark = pytest.mark.kafka
KEYS = [f"order-{n}" for n in range(300)]


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
