"""Kafka topics through aiokafka's admin client: create, delete, list, count partitions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from eda_lib.brokers.base import (
    BrokerError,
    Record,
    Retention,
    TopicConflict,
    UnknownTopic,
    check_new_topic,
    make_record,
)

_TOPIC_EXISTS = 36  # Kafka's TOPIC_ALREADY_EXISTS error code


_last_stamp: tuple[int, datetime] = (-1, datetime.fromtimestamp(0, UTC))


def to_datetime(milliseconds: int) -> datetime:
    """A Kafka timestamp (milliseconds since 1970) as a datetime. Records of one batch often
    share their millisecond, and an aware datetime is slow to make: the last one is kept."""
    global _last_stamp
    if milliseconds != _last_stamp[0]:
        _last_stamp = (milliseconds, datetime.fromtimestamp(milliseconds / 1000, UTC))
    return _last_stamp[1]


def to_record(r: Any) -> Record:
    """An aiokafka ConsumerRecord as our Record."""
    return make_record(
        (r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers), to_datetime(r.timestamp))
    )


class KafkaTopics:
    """The admin side of a `KafkaBroker`, with a cache of partition counts."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._admin: AIOKafkaAdminClient | None = None
        self.partitions: dict[str, int] = {}

    async def admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            try:
                await admin.start()
            except KafkaError as error:
                await admin.close()
                raise BrokerError(
                    f"cannot reach Kafka at {self.bootstrap} ({type(error).__name__}). Fix: start "
                    "one with `make kafka`, or set KAFKA_BOOTSTRAP to a running cluster"
                ) from None
            self._admin = admin
        return self._admin

    async def create(self, topic: str, partitions: int, retention: Retention | None) -> None:
        check_new_topic(topic, partitions)
        configs: dict[str, str] = {}
        if retention is not None:
            if retention.max_records is not None:
                raise BrokerError(
                    "Kafka keeps records by age or size, never by count. Fix: use "
                    "Retention(max_age=...) on Kafka; max_records is an InMemoryBroker feature"
                )
            if retention.max_age is not None:
                configs["retention.ms"] = str(int(retention.max_age.total_seconds() * 1000))
        admin = await self.admin()
        response = await admin.create_topics(
            [NewTopic(topic, partitions, 1, topic_configs=configs)]
        )
        for _, code, *rest in response.topic_errors:
            if code == _TOPIC_EXISTS:
                existing = await self.count(topic, refresh=True)
                if existing != partitions:
                    raise TopicConflict(topic, existing, partitions)
            elif code:
                raise BrokerError(f"Kafka refused to create topic '{topic}': error {code} {rest}")
        for _ in range(600):  # wait until every partition has a leader, so sends go through
            with contextlib.suppress(UnknownTopic):
                if await self.count(topic, refresh=True) == partitions:
                    return
            await asyncio.sleep(0.05)
        raise BrokerError(f"topic '{topic}' was created but did not get leaders within 30 s")

    async def delete(self, topic: str, still_read: Callable[[str], None]) -> None:
        """Delete a topic (after `still_read` had its say); returns once Kafka no longer
        lists it."""
        await self.count(topic, refresh=True)
        still_read(topic)
        admin = await self.admin()
        await admin.delete_topics([topic])
        self.partitions.pop(topic, None)
        for _ in range(200):
            if topic not in await self.describe():
                return
            await asyncio.sleep(0.05)

    async def describe(self, topics: list[str] | None = None) -> dict[str, int]:
        """Topics whose every partition has a leader, and their partition counts."""
        admin = await self.admin()
        described = await admin.describe_topics(topics)
        return {
            t["topic"]: len(t["partitions"])
            for t in described
            if t["error_code"] == 0
            and not t["topic"].startswith("__")
            and all(p["leader"] >= 0 for p in t["partitions"])
        }

    async def all(self) -> dict[str, int]:
        found = await self.describe()
        self.partitions.update(found)
        return dict(sorted(found.items()))

    async def count(self, topic: str, *, refresh: bool = False) -> int:
        if refresh or topic not in self.partitions:
            found = await self.describe([topic])
            if topic not in found:
                raise UnknownTopic(topic, sorted(await self.all()))
            self.partitions[topic] = found[topic]
        return self.partitions[topic]

    async def close(self, timeout: float) -> None:
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._admin.close(), timeout)
            self._admin = None
