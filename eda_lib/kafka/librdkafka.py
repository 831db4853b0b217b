"""The course's client, live (lesson 08): librdkafka, through Confluent's Python client.

The course's Go programs use confluent-kafka-go, which is librdkafka underneath; `confluent_kafka`
is the same librdkafka for Python, with the same configuration keys, defaults and partitioner.
So what it does here is what the learner's Go program does.

Without a broker, it runs on librdkafka's own mock cluster (`test.mock.num.brokers`), which lives
inside the client: its topics are made on first use, with 4 partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

MOCK_PARTITIONS = 4
"""How many partitions librdkafka's mock cluster gives a topic it makes on first use."""


def settings(bootstrap: str | None, **extra: Any) -> dict[str, Any]:
    """A librdkafka configuration for `bootstrap`, or for a mock cluster of one broker when it is
    None (its notice on stderr turned off: `log_level` 4 keeps warnings and errors)."""
    where = {"bootstrap.servers": bootstrap} if bootstrap else {"test.mock.num.brokers": 1}
    return {**where, "log_level": 4, **extra}


async def placements(
    keys: Sequence[str],
    *,
    topic: str = "placements",
    partitioner: str | None = None,
    bootstrap: str | None = None,
) -> dict[str, int]:
    """Where a librdkafka producer puts each key of `keys` (one message each, to `topic`), read
    from its delivery reports. `partitioner=None` is librdkafka's default (`consistent_random`:
    CRC32 of the key); `"murmur2_random"` is the rule of Kafka's Java client and aiokafka. On a
    real broker (`bootstrap`), `topic` must exist; on the mock cluster it has 4 partitions."""
    extra = {} if partitioner is None else {"partitioner": partitioner}
    return await asyncio.to_thread(_produce, keys, topic, settings(bootstrap, **extra))


def _produce(keys: Sequence[str], topic: str, config: dict[str, Any]) -> dict[str, int]:
    producer = Producer(config)
    placed: dict[str, int] = {}
    failed: list[str] = []

    def report(error: KafkaError | None, message: Message) -> None:
        key, partition = message.key(), message.partition()
        if error is not None or key is None or partition is None:
            failed.append(str(error))
        else:
            placed[key.decode()] = partition

    for key in keys:
        producer.produce(topic, b"", key=key.encode(), on_delivery=report)
    left = producer.flush(30)
    if failed or left:
        why = failed[0] if failed else "no error reported"
        raise RuntimeError(
            f"librdkafka did not deliver every message to '{topic}' ({left} left; {why}). "
            "Fix: check the broker, and that the topic exists"
        )
    return placed
