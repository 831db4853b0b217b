"""Kafka topics through aiokafka's admin client: create, delete, list, count partitions.

The admin client is also the first client a `KafkaBroker` starts, so a cluster that cannot be
connected to is reported here, in one line with the fix (`eda_lib.kafka.diagnose` finds the
cause).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from eda_lib.brokers.base import (
    BrokerError,
    BrokerUnavailable,
    Record,
    Retention,
    TopicConflict,
    UnknownTopic,
    check_more_partitions,
    check_new_topic,
)
from eda_lib.compaction import kafka_settings
from eda_lib.kafka.diagnose import why_not
from eda_lib.kafka.security import KafkaConnectError, KafkaSecurity
from eda_lib.resilience import settle

_TOPIC_EXISTS = 36  # Kafka's TOPIC_ALREADY_EXISTS error code
_INVALID_REPLICATION_FACTOR = 38
CONNECT_WITHIN_S = 10.0
"""How long the first connection may take; aiokafka alone would wait 40 s for a silent host."""


T = TypeVar("T")


async def steadily(call: Callable[[], Awaitable[T]], what: str, attempts: int = 40) -> T:
    """An admin request, asked again while it fails for a reason that passes. The admin client
    sends each request to one node it picks from its (possibly older) metadata; on a cluster that
    node may just have been killed, and another will answer."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except (KafkaError, TimeoutError) as error:
            # A TimeoutError: aiokafka waited for a node that is gone (create_topics goes to the
            # node its metadata names as controller); the next try reads fresher metadata.
            if isinstance(error, KafkaError) and not error.retriable:
                raise
            if attempt == attempts:
                raise BrokerUnavailable(
                    f"{what} failed {attempts} times ({type(error).__name__}). Fix: check that "
                    "most of the cluster's nodes are up, then try again"
                ) from error
            await asyncio.sleep(0.25)
    raise AssertionError("unreachable")  # the loop returns or raises


async def _first_answer(admin: AIOKafkaAdminClient, brokers: list[str]) -> Any:
    """`default.replication.factor` as the first of `brokers` that answers reports it."""
    last: KafkaError | None = None
    for broker in brokers:
        wanted = ConfigResource(
            ConfigResourceType.BROKER, broker, {"default.replication.factor": None}
        )
        try:
            [response] = await admin.describe_configs([wanted])
            return response
        except KafkaError as error:
            last = error
    assert last is not None
    raise last


def to_datetime(milliseconds: int) -> datetime:
    """A Kafka timestamp (milliseconds since 1970) as a datetime."""
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def to_record(r: Any) -> Record:
    """An aiokafka ConsumerRecord as our Record."""
    headers = tuple(r.headers)
    return Record(r.topic, r.partition, r.offset, r.key, r.value, headers, to_datetime(r.timestamp))


class KafkaTopics:
    """The admin side of a `KafkaBroker`, with a cache of partition counts."""

    def __init__(self, bootstrap: str, security: KafkaSecurity | None = None) -> None:
        self.bootstrap = bootstrap
        self.security = KafkaSecurity.from_env() if security is None else security
        self._admin: AIOKafkaAdminClient | None = None
        self._replication: int | None = None  # the cluster's default.replication.factor
        self.partitions: dict[str, int] = {}

    def client_options(self) -> dict[str, Any]:
        """Where the cluster is and how to connect to it: for every aiokafka client we make."""
        return {"bootstrap_servers": self.bootstrap, **self.security.client_options()}

    async def admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            # Metadata refreshed often and a shorter wait per request (aiokafka: 5 min, 40 s): on a
            # cluster a node may die, and a request is better asked again of another.
            admin = AIOKafkaAdminClient(
                **self.client_options(), metadata_max_age_ms=5000, request_timeout_ms=10_000
            )
            try:
                await asyncio.wait_for(admin.start(), CONNECT_WITHIN_S)
            except (KafkaError, TimeoutError) as error:
                await admin.close()
                raise await self._cannot_connect(error) from None
            self._admin = admin
        return self._admin

    async def _cannot_connect(self, error: Exception) -> KafkaConnectError:
        if isinstance(error, TimeoutError):  # probing a silent host would only wait again
            return KafkaConnectError(
                f"Kafka at {self.bootstrap} did not answer within {CONNECT_WITHIN_S:.0f} s. "
                "Fix: check the host and port in KAFKA_BOOTSTRAP, and that the network lets "
                "you through to it"
            )
        reason = await why_not(self.bootstrap, self.security)
        return KafkaConnectError(
            reason
            or f"cannot reach Kafka at {self.bootstrap} ({type(error).__name__}). Fix: start "
            "one with `make kafka`, or set KAFKA_BOOTSTRAP to a running cluster"
        )

    async def compacted(self, topic: str) -> bool:
        """Whether `topic`'s `cleanup.policy` includes compact (asked when a keyless send to it
        failed: aiokafka reports Kafka's INVALID_RECORD only as an unknown error)."""
        admin = await self.admin()
        wanted = ConfigResource(ConfigResourceType.TOPIC, topic, {"cleanup.policy": None})
        with contextlib.suppress(KafkaError):  # no answer: say no, and the send error stands
            [response] = await admin.describe_configs([wanted])
            for _, _, _, _, entries in response.resources:
                policy = {entry[0]: entry[1] for entry in entries}.get("cleanup.policy") or ""
                return "compact" in policy
        return False

    async def default_replication(self) -> int:
        """The cluster's `default.replication.factor`, asked once. CreateTopics in the versions
        aiokafka speaks cannot leave the factor to the broker, so it is read and sent."""
        if self._replication is None:
            admin = await self.admin()
            described = await steadily(admin.describe_cluster, "describing the cluster")
            brokers = described["brokers"]
            if not brokers:
                raise BrokerError(
                    f"Kafka at {self.bootstrap} lists no brokers to read "
                    "default.replication.factor from. Fix: wait until the cluster has started, or "
                    "pass replication_factor=... to create_topic"
                )
            # Any broker will do; the first listed may be one that was just killed.
            response = await steadily(
                lambda: _first_answer(admin, sorted(str(b["node_id"]) for b in brokers)),
                "reading the broker configuration",
            )
            [(code, message, _, broker, entries)] = response.resources
            values = {entry[0]: entry[1] for entry in entries}
            if code or "default.replication.factor" not in values:
                raise BrokerError(
                    f"cannot read the cluster's default.replication.factor from broker {broker} "
                    f"(error {code}: {message}). Fix: pass replication_factor=... to create_topic"
                )
            self._replication = int(values["default.replication.factor"])
        return self._replication

    async def create(
        self,
        topic: str,
        partitions: int,
        retention: Retention | None,
        replication: int | None = None,
        configs: Mapping[str, str] | None = None,
    ) -> None:
        check_new_topic(topic, partitions)
        if replication is not None and replication < 1:
            raise ValueError(f"a topic needs a replication factor of at least 1, not {replication}")
        settings = _topic_configs(retention, configs)
        admin = await self.admin()
        factor = await self.default_replication() if replication is None else replication
        new = NewTopic(topic, partitions, factor, topic_configs=settings)
        response = await steadily(lambda: admin.create_topics([new]), "creating a topic")
        for _, code, *rest in response.topic_errors:
            if code == _TOPIC_EXISTS:
                existing = await self.count(topic, refresh=True)
                if existing != partitions:
                    raise TopicConflict(topic, existing, partitions)
            elif code == _INVALID_REPLICATION_FACTOR:
                cluster = await steadily(admin.describe_cluster, "describing the cluster")
                brokers = len(cluster["brokers"])
                origin = (
                    " (the cluster's default.replication.factor)" if replication is None else ""
                )
                raise BrokerError(
                    f"topic '{topic}' needs {factor} replicas{origin}, but the cluster has "
                    f"{brokers} broker(s) running. Fix: pass replication_factor={brokers} or "
                    "less, or start more brokers"
                )
            elif code:
                raise BrokerError(f"Kafka refused to create topic '{topic}': error {code} {rest}")

        async def led() -> bool:  # every partition has a leader, so sends go through
            with contextlib.suppress(UnknownTopic):
                return await self.count(topic, refresh=True) == partitions
            return False

        if not await settle(led, timeout=30, every=0.05):
            raise BrokerError(f"topic '{topic}' was created but did not get leaders within 30 s")

    async def grow(self, topic: str, total: int) -> None:
        """Add partitions to `topic` until it has `total`; returns once each has a leader."""
        check_more_partitions(topic, await self.count(topic, refresh=True), total)
        admin = await self.admin()
        await steadily(
            lambda: admin.create_partitions({topic: NewPartitions(total)}), "adding partitions"
        )

        async def led() -> bool:
            return await self.count(topic, refresh=True) == total

        if not await settle(led, timeout=30, every=0.05):
            raise BrokerError(f"topic '{topic}' did not get {total} led partitions within 30 s")

    async def delete(self, topic: str, still_read: Callable[[str], None]) -> None:
        """Delete a topic (after `still_read` had its say); returns once Kafka no longer
        lists it."""
        await self.count(topic, refresh=True)
        still_read(topic)
        admin = await self.admin()
        await steadily(lambda: admin.delete_topics([topic]), "deleting a topic")
        self.partitions.pop(topic, None)

        async def gone() -> bool:
            return topic not in await self.describe()

        await settle(gone, timeout=10, every=0.05)

    async def describe(self, topics: list[str] | None = None) -> dict[str, int]:
        """Topics whose every partition has a leader, and their partition counts."""
        admin = await self.admin()
        described = await steadily(lambda: admin.describe_topics(topics), "describing topics")
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


def _topic_configs(
    retention: Retention | None, configs: Mapping[str, str] | None
) -> dict[str, str]:
    """The topic-level configs to create a topic with: `configs`, and what `retention` means."""
    settings = dict(configs or {})
    if retention is None:
        return settings
    if retention.max_records is not None:
        raise BrokerError(
            "Kafka keeps records by age or size, never by count. Fix: use "
            "Retention(max_age=...) on Kafka; max_records is an InMemoryBroker feature"
        )
    if retention.compact:  # the last value per key; with an age too, old keys go as well
        if retention.max_age is not None and "cleanup.policy" not in settings:
            settings["cleanup.policy"] = "compact,delete"
        settings = kafka_settings(retention.delete_retention) | settings
    if retention.max_age is not None:
        retention_ms = str(int(retention.max_age.total_seconds() * 1000))
        if settings.setdefault("retention.ms", retention_ms) != retention_ms:
            raise ValueError(
                f"retention says {retention_ms} ms and configs['retention.ms'] says "
                f"{settings['retention.ms']}: give the retention once"
            )
    return settings
