"""`KafkaBroker`: the `Broker` protocol on a real Apache Kafka cluster via aiokafka (lesson 08).

Producers use `acks=all` and the idempotent producer; keys are placed by the same murmur2 rule as
`InMemoryBroker`. A thin front over three parts: `KafkaTopics` (the admin client), `KafkaMembers`
(one `AIOKafkaConsumer` per group member, manual commits) and `KafkaInspector` (offsets, lag).

Security settings (TLS, SASL) come from `security`, else from the `KAFKA_SECURITY_PROTOCOL`,
`KAFKA_SASL_...` and `KAFKA_SSL_...` environment variables: see
`eda_lib.kafka.security.KafkaSecurity`.

aiokafka logs every refused connection and coordinator hop it retries; call
`eda_lib.quiet_kafka_logs()` where that would drown a lesson's output.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, UnknownError

from eda_lib import clock as clocks
from eda_lib.brokers.base import (
    Batch,
    Broker,
    BrokerState,
    BrokerUnavailable,
    DeliveryReport,
    Headers,
    Message,
    Record,
    Retention,
    StartFrom,
    TopicPartition,
    pick_partition,
)
from eda_lib.clock import Clock
from eda_lib.compaction import KeyRequired, wait_until_compacted
from eda_lib.kafka.inspect import KafkaInspector
from eda_lib.kafka.members import CONSUMER_SETTINGS, KafkaMembers
from eda_lib.kafka.security import KafkaSecurity
from eda_lib.kafka.topics import KafkaTopics, to_datetime
from eda_lib.trace import Trace


class KafkaBroker:
    """A real Kafka cluster behind the `Broker` protocol: `async with KafkaBroker(bootstrap) as
    broker:` connects and, at the end, leaves every group and closes every client."""

    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        *,
        security: KafkaSecurity | None = None,
        seed: int = 0,
        clock: Clock | None = None,
        trace: bool = True,
        linger_ms: int = 5,
        join_timeout: float = 30.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.clock: Clock = clock or clocks.default_clock()
        self.trace = Trace(self.clock, enabled=trace)
        self.linger_ms = linger_ms
        self._rng = random.Random(seed)
        self._producer: AIOKafkaProducer | None = None
        self._topics = KafkaTopics(bootstrap, security)  # None: from the environment
        self.security = self._topics.security
        self._members = KafkaMembers(self._topics, self.trace, join_timeout)
        self._inspector = KafkaInspector(self._topics, self._members)

    @classmethod
    async def connect(
        cls, bootstrap: str, *, security: KafkaSecurity | None = None, **options: Any
    ) -> KafkaBroker:
        """A broker whose cluster answered; else a `BrokerError` that says in one line why not
        (nothing there, a certificate not trusted, credentials refused...) and the fix."""
        broker = cls(bootstrap, security=security, **options)
        await broker._topics.admin()
        return broker

    async def __aenter__(self) -> Self:
        await self._topics.admin()
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.close()

    async def admin(self) -> Any:
        """The cluster's aiokafka admin client (started on first use, closed by `close()`), for
        what the `Broker` protocol does not cover: replica placement, topic configuration."""
        return await self._topics.admin()

    def client_options(self) -> dict[str, Any]:
        """`bootstrap_servers` and the security settings, for a plain aiokafka client on the
        same cluster: `AIOKafkaConsumer(**broker.client_options(), ...)`. They hold the
        password: hand them to the client, never print them."""
        return self._topics.client_options()

    def producer_settings(self) -> dict[str, Any]:
        """What every producer of this broker uses (the benchmark gives plain aiokafka the same)."""
        return {"acks": "all", "enable_idempotence": True, "linger_ms": self.linger_ms}

    def consumer_settings(self) -> dict[str, Any]:
        return dict(CONSUMER_SETTINGS)

    # --- topics -------------------------------------------------------------------------

    async def create_topic(
        self,
        topic: str,
        partitions: int = 1,
        *,
        retention: Retention | None = None,
        replication_factor: int | None = None,
        configs: Mapping[str, str] | None = None,
    ) -> None:
        """`replication_factor=None` is the cluster's `default.replication.factor`; `configs`
        are topic-level configs such as `{"min.insync.replicas": "2"}`."""
        await self._topics.create(topic, partitions, retention, replication_factor, configs)

    async def default_replication_factor(self) -> int:
        """The cluster's `default.replication.factor`: what `create_topic` asks for unless told
        otherwise (read from a broker's configuration once per `KafkaBroker`)."""
        return await self._topics.default_replication()

    async def delete_topic(self, topic: str) -> None:
        """Delete a topic; returns once Kafka no longer lists it."""
        await self._topics.delete(topic, self._members.refuse_if_read)

    async def add_partitions(self, topic: str, total: int) -> None:
        """Grow `topic` to `total` partitions; returns once each has a leader and this
        broker's groups reading the topic own them. Other clients learn of the new count at
        their next metadata refresh: until then a producer hashes keys by the old count."""
        await self._topics.grow(topic, total)
        if self._producer is not None:  # it sends to the partition we pick: let it know them
            await self._producer.client.force_metadata_update()
        await self._members.topic_grew(topic)

    async def compact(self, topic: str, *, timeout: float = 30.0) -> int:
        """Wait for Kafka's log cleaner to compact `topic` (it cannot be told to run); then how
        many records compaction has removed from it so far. See
        `eda_lib.compaction.wait_until_compacted`."""
        return await wait_until_compacted(self, topic, timeout=timeout)

    async def topics(self) -> dict[str, int]:
        return await self._topics.all()

    # --- producing ----------------------------------------------------------------------

    async def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        producer: str = "",
    ) -> DeliveryReport:
        [report] = await self.produce_many(topic, [(key, value, headers)], producer=producer)
        return report

    async def produce_many(
        self, topic: str, messages: Sequence[Message], *, producer: str = ""
    ) -> list[DeliveryReport]:
        """Send several messages in order and wait for all their acknowledgements at once."""
        count = await self._topics.count(topic)
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                **self._topics.client_options(), **self.producer_settings()
            )
            await self._producer.start()
        client = self._producer
        pending: list[asyncio.Future[Any]] = []
        try:
            for key, value, headers in messages:
                partition = pick_partition(key, count, self._rng)
                pending.append(
                    await client.send(
                        topic, value, key=key, partition=partition, headers=list(headers)
                    )
                )
        finally:
            # Whatever was handed over is awaited, so no acknowledgement goes unobserved.
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        keyless = any(key is None for key, _, _ in messages)
        # Kafka's INVALID_RECORD for a keyless record on a compacted topic, as aiokafka says it:
        unknown = failed and isinstance(failed[0], UnknownError)
        if unknown and keyless and await self._topics.compacted(topic):
            raise KeyRequired(topic) from failed[0]
        if failed and isinstance(failed[0], KafkaError):  # retriable: let producers retry
            raise BrokerUnavailable(
                f"Kafka did not acknowledge a send to '{topic}' ({type(failed[0]).__name__}: "
                f"{failed[0]}). Fix: retry later (a Producer with a RetryPolicy does)"
            ) from failed[0]
        if failed:
            raise failed[0]
        acknowledged = cast(list[Any], outcomes)  # RecordMetadata each
        reports = [
            DeliveryReport(topic, m.partition, m.offset, to_datetime(m.timestamp))
            for m in acknowledged
        ]
        if self.trace.enabled:
            for report in reports:
                self.trace.stored(report, producer)
        return reports

    async def flush(self) -> None:
        if self._producer is not None:
            await self._producer.flush()

    # --- groups -------------------------------------------------------------------------

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None:
        await self._members.join(group, topics, member, start)

    async def leave(self, group: str, member: str) -> None:
        await self._members.leave(group, member)

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        return self._members.assignment(self._members.get(group, member))

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        self._members.seek(group, member, partition, offset)

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> Batch:
        batch = await self._members.poll(group, member, max_records, timeout)
        if self.trace.enabled:
            self.trace.delivered(batch.records, group, member)
        return batch

    async def commit(
        self,
        group: str,
        member: str,
        offsets: Mapping[TopicPartition, int],
        *,
        generation: int | None = None,
    ) -> None:
        await self._members.commit(group, member, offsets, generation)
        if self.trace.enabled:
            for tp, offset in offsets.items():
                self.trace.record("committed", tp.topic, tp.partition, offset, group, member)

    # --- inspection ---------------------------------------------------------------------

    async def describe(self, topics: Collection[str] | None = None) -> BrokerState:
        """On a shared cluster, name the topics you care about: only their offsets are asked
        for, and a broken topic elsewhere cannot hold the answer up."""
        return await self._inspector.describe(topics)

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        return await self._inspector.read(topic, partition, start, limit)

    async def close(self, timeout: float = 10.0) -> None:
        """Leave every group and stop the clients; gives up on a client after `timeout` seconds
        (a dead broker must not hang the caller)."""
        clients: list[Any] = self._members.pop_all() + self._inspector.pop_probe()
        if self._producer is not None:
            clients.append(self._producer)
            self._producer = None
        for client in clients:
            with contextlib.suppress(Exception):  # closing must go on past a broken client
                await asyncio.wait_for(client.stop(), timeout)
        await self._topics.close(timeout)


if TYPE_CHECKING:  # never run: `make lint`'s type checker fails here if the broker stops
    # matching its protocol in any method or attribute

    def _the_kafka_broker_implements_the_protocol(kafka: KafkaBroker) -> Broker:
        return kafka
