"""`KafkaBroker`: the `Broker` protocol on a real Apache Kafka cluster via aiokafka (lesson 08).

Producers use `acks=all` and the idempotent producer; keys are placed by the same murmur2 rule as
`InMemoryBroker`; events travel in CloudEvents binary mode (attributes in `ce_` headers, data as
the value). Each group member is one `AIOKafkaConsumer` with manual commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from eda_lib import clock as clocks
from eda_lib.brokers.base import (
    BrokerError,
    BrokerState,
    BrokerUnavailable,
    CommitFailed,
    DeliveryReport,
    GroupState,
    PartitionState,
    Record,
    Retention,
    StartFrom,
    TopicPartition,
    UnknownMember,
    UnknownTopic,
    record_deliveries,
    refuse_stale_commit,
)
from eda_lib.brokers.memory import partition_for_key
from eda_lib.clock import Clock
from eda_lib.events import Headers, KafkaBinary
from eda_lib.trace import Trace

# aiokafka logs every refused connection and coordinator hop it retries (some as errors); a
# lesson's output should show what the learner did. What does fail reaches us as an exception.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

_TOPIC_EXISTS = 36


def _datetime(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


def _record(r: Any) -> Record:
    """An aiokafka ConsumerRecord as our Record."""
    return Record(
        r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers), _datetime(r.timestamp)
    )


@dataclass
class _Member:
    consumer: AIOKafkaConsumer
    topics: tuple[str, ...]
    generation: int = 0
    since: dict[TopicPartition, int] = field(default_factory=dict)  # owned since generation
    assigned: asyncio.Event = field(default_factory=asyncio.Event)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: _Member) -> None:
        self.member = member

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.member.generation += 1

    async def on_partitions_assigned(self, assigned: Any) -> None:
        member = self.member
        member.generation += 1
        now = {TopicPartition(tp.topic, tp.partition) for tp in assigned}
        member.since = {tp: member.since.get(tp, member.generation) for tp in now}
        member.assigned.set()


class KafkaBroker:
    """A real Kafka cluster behind the `Broker` protocol. Create with `await KafkaBroker.connect(
    bootstrap)`, close with `await broker.close()`."""

    name = "kafka"
    idle_after = 1.0  # a fetch may take a moment to bring what was just produced

    def __init__(
        self,
        bootstrap: str,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        trace: bool = True,
        linger_ms: int = 5,
        join_timeout: float = 30.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.clock = clock or clocks.default_clock()
        self.trace = Trace(enabled=trace)
        self.codec = KafkaBinary()
        self.linger_ms = linger_ms
        self.join_timeout = join_timeout
        self._rng = random.Random(seed)
        self._admin: AIOKafkaAdminClient | None = None
        self._producer: AIOKafkaProducer | None = None
        self._probe: AIOKafkaConsumer | None = None
        self._partitions: dict[str, int] = {}
        self._members: dict[tuple[str, str], _Member] = {}
        self._starts: dict[str, StartFrom] = {}

    @classmethod
    async def connect(cls, bootstrap: str, **options: Any) -> KafkaBroker:
        broker = cls(bootstrap, **options)
        await broker._admin_client()
        return broker

    def producer_settings(self) -> dict[str, Any]:
        """What every producer of this broker uses (the benchmark gives plain aiokafka the same)."""
        return {"acks": "all", "enable_idempotence": True, "linger_ms": self.linger_ms}

    def consumer_settings(self) -> dict[str, Any]:
        return {
            "enable_auto_commit": False,
            "heartbeat_interval_ms": 500,
            "session_timeout_ms": 10_000,
            "max_poll_records": 500,
        }

    async def _admin_client(self) -> AIOKafkaAdminClient:
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

    async def _producer_client(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, **self.producer_settings()
            )
            await self._producer.start()
        return self._producer

    # --- topics -------------------------------------------------------------------------

    async def create_topic(
        self, topic: str, partitions: int = 1, *, retention: Retention | None = None
    ) -> None:
        if not topic or not isinstance(topic, str):
            raise ValueError("a topic needs a non-empty name, e.g. 'payments'")
        if partitions < 1:
            raise ValueError(f"a topic needs at least 1 partition, not {partitions}")
        configs: dict[str, str] = {}
        if retention is not None:
            if retention.max_records is not None:
                raise BrokerError(
                    "Kafka keeps records by age or size, never by count. Fix: use "
                    "Retention(max_age=...) on Kafka; max_records is an InMemoryBroker feature"
                )
            if retention.max_age is not None:
                configs["retention.ms"] = str(int(retention.max_age.total_seconds() * 1000))
        admin = await self._admin_client()
        response = await admin.create_topics(
            [NewTopic(topic, partitions, 1, topic_configs=configs)]
        )
        for _, code, *rest in response.topic_errors:
            if code == _TOPIC_EXISTS:
                existing = await self._partition_count(topic, refresh=True)
                if existing != partitions:
                    raise BrokerError(
                        f"topic '{topic}' exists with {existing} partitions, not {partitions}. "
                        "Fix: use the existing count or another topic name"
                    )
            elif code:
                raise BrokerError(f"Kafka refused to create topic '{topic}': error {code} {rest}")
        for _ in range(600):  # wait until every partition has a leader, so sends go through
            with contextlib.suppress(UnknownTopic):
                if await self._partition_count(topic, refresh=True) == partitions:
                    return
            await asyncio.sleep(0.05)
        raise BrokerError(f"topic '{topic}' was created but did not get leaders within 30 s")

    async def delete_topic(self, topic: str) -> None:
        """Delete a topic; returns once Kafka no longer lists it."""
        await self._partition_count(topic, refresh=True)
        for (group, _), member in self._members.items():
            if topic in member.topics:
                raise BrokerError(
                    f"group '{group}' still reads '{topic}'. Fix: stop its consumers first"
                )
        admin = await self._admin_client()
        await admin.delete_topics([topic])
        self._partitions.pop(topic, None)
        for _ in range(200):
            if topic not in await self._describe():
                return
            await asyncio.sleep(0.05)

    async def _describe(self, topics: list[str] | None = None) -> dict[str, int]:
        admin = await self._admin_client()
        described = await admin.describe_topics(topics)
        return {
            t["topic"]: len(t["partitions"])
            for t in described
            if t["error_code"] == 0
            and not t["topic"].startswith("__")
            and all(p["leader"] >= 0 for p in t["partitions"])
        }

    async def topics(self) -> dict[str, int]:
        found = await self._describe()
        self._partitions.update(found)
        return dict(sorted(found.items()))

    async def _partition_count(self, topic: str, *, refresh: bool = False) -> int:
        if refresh or topic not in self._partitions:
            found = await self._describe([topic])
            if topic not in found:
                raise UnknownTopic(topic, sorted(await self.topics()))
            self._partitions[topic] = found[topic]
        return self._partitions[topic]

    # --- producing ----------------------------------------------------------------------

    async def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        producer: str = "",
    ) -> DeliveryReport:
        [report] = await self.produce_many(topic, [(key, value, headers)], producer=producer)
        return report

    async def produce_many(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes, Headers]],
        *,
        producer: str = "",
    ) -> list[DeliveryReport]:
        """Send several messages in order and wait for all their acknowledgements at once."""
        count = await self._partition_count(topic)
        client = await self._producer_client()
        pending: list[asyncio.Future[Any]] = []
        try:
            for key, value, headers in messages:
                partition = (
                    self._rng.randrange(count) if key is None else partition_for_key(key, count)
                )
                pending.append(
                    await client.send(
                        topic, value, key=key, partition=partition, headers=list(headers)
                    )
                )
        finally:
            # Whatever was handed over is awaited, so no acknowledgement goes unobserved.
            outcomes = await asyncio.gather(*pending, return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed and isinstance(failed[0], KafkaError):  # retriable: let producers retry
            raise BrokerUnavailable(
                f"Kafka did not acknowledge a send to '{topic}' ({type(failed[0]).__name__}: "
                f"{failed[0]}). Fix: retry later (a Producer with a RetryPolicy does)"
            ) from failed[0]
        if failed:
            raise failed[0]
        reports = []
        for metadata in outcomes:
            timestamp = _datetime(metadata.timestamp)
            self.trace.record(
                "stored", self.clock.now(), topic, metadata.partition, metadata.offset, "", producer
            )
            reports.append(DeliveryReport(topic, metadata.partition, metadata.offset, timestamp))
        return reports

    async def flush(self) -> None:
        if self._producer is not None:
            await self._producer.flush()

    # --- groups -------------------------------------------------------------------------

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom = "earliest"
    ) -> None:
        if start not in ("earliest", "latest"):
            raise ValueError(f"start must be 'earliest' or 'latest', not {start!r}")
        if not topics:
            raise ValueError("subscribe to at least one topic")
        if (group, member) in self._members:
            raise BrokerError(
                f"'{member}' is already a member of group '{group}'. "
                "Fix: give each consumer in a group its own name"
            )
        for topic in topics:
            await self._partition_count(topic)
        consumer = AIOKafkaConsumer(  # closed by leave(), or below if joining fails
            bootstrap_servers=self.bootstrap,
            group_id=group,
            client_id=member,
            auto_offset_reset=start,
            **self.consumer_settings(),
        )
        state = _Member(consumer, tuple(topics))
        consumer.subscribe(list(topics), listener=_Listener(state))
        try:
            await consumer.start()
            await asyncio.wait_for(state.assigned.wait(), self.join_timeout)
        except (TimeoutError, KafkaError) as error:
            await consumer.stop()
            raise BrokerError(
                f"'{member}' could not join group '{group}' within "
                f"{self.join_timeout:.0f} s ({type(error).__name__}); is the broker healthy?"
            ) from None
        self._members[(group, member)] = state
        self._starts.setdefault(group, start)
        await self._settle(group)
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolve 'earliest'/'latest' now, as InMemoryBroker does
        self.trace.record(
            "rebalanced",
            self.clock.now(),
            group=group,
            detail=f"{member} joined: {await self._layout(group)}",
        )

    async def _settle(self, group: str) -> None:
        """Wait until the group is stable and our members' assignments are the new ones: no
        partition claimed twice and, when every member is ours, every partition claimed
        (Kafka rebalances in the background)."""
        ours = [m for (g, _), m in self._members.items() if g == group]
        wanted = {(t, p) for m in ours for t in m.topics for p in range(self._partitions[t])}
        admin = await self._admin_client()
        deadline = asyncio.get_running_loop().time() + self.join_timeout
        while asyncio.get_running_loop().time() < deadline:
            [described] = await admin.describe_consumer_groups([group])
            [info] = described.groups
            claimed = [(tp.topic, tp.partition) for m in ours for tp in m.consumer.assignment()]
            everyone_ours = len(info[5]) == len(ours)
            if (
                info[2] in ("Stable", "Empty")
                and len(claimed) == len(set(claimed))
                and (not everyone_ours or set(claimed) == wanted)
            ):
                return
            await asyncio.sleep(0.1)
        raise BrokerError(
            f"group '{group}' did not settle within {self.join_timeout:.0f} s of a member "
            "joining or leaving; is the broker healthy?"
        )

    async def _layout(self, group: str) -> str:
        parts = []
        for g, name in self._members:
            if g == group:
                owned = ", ".join(map(str, await self.assignment(g, name)))
                parts.append(f"{name}: {owned or '(idle)'}")
        return "; ".join(parts)

    async def leave(self, group: str, member: str) -> None:
        state = self._members.pop((group, member), None)
        if state is None:
            raise UnknownMember(group, member)
        await state.consumer.stop()  # sends LeaveGroup: the others rebalance at once
        if any(g == group for g, _ in self._members):
            await self._settle(group)
        self.trace.record(
            "rebalanced",
            self.clock.now(),
            group=group,
            detail=f"{member} left: {await self._layout(group) or 'no live members'}",
        )

    def _member(self, group: str, member: str) -> _Member:
        try:
            return self._members[(group, member)]
        except KeyError:
            raise UnknownMember(group, member) from None

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        consumer = self._member(group, member).consumer
        return tuple(sorted(TopicPartition(tp.topic, tp.partition) for tp in consumer.assignment()))

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        state = self._member(group, member)
        if partition not in state.since:
            raise BrokerError(
                f"{member} does not own {partition} in group '{group}'. Fix: seek only "
                "partitions in its assignment"
            )
        if offset < 0:
            raise ValueError(f"cannot seek {partition} to {offset}: offsets start at 0")
        state.consumer.seek(KafkaTopicPartition(partition.topic, partition.partition), offset)

    async def position(self, group: str, member: str, partition: TopicPartition) -> int | None:
        state = self._member(group, member)
        if partition not in state.since:
            return None
        with contextlib.suppress(KafkaError):
            tp = KafkaTopicPartition(partition.topic, partition.partition)
            return int(await asyncio.wait_for(state.consumer.position(tp), 5))
        return None

    async def low_watermark(self, partition: TopicPartition) -> int:
        tp = KafkaTopicPartition(partition.topic, partition.partition)
        begins, _ = await self._offsets([tp])
        return int(begins[tp])

    async def resume_point(self, group: str, member: str, partition: TopicPartition) -> int | None:
        consumer = self._member(group, member).consumer
        with contextlib.suppress(KafkaError):
            committed = await consumer.committed(
                KafkaTopicPartition(partition.topic, partition.partition)
            )
            return int(committed) if committed is not None else None
        return None

    def generation(self, group: str, member: str) -> int:
        state = self._members.get((group, member))
        if state is None:
            raise UnknownMember(group, member)
        return state.generation

    # --- consuming ----------------------------------------------------------------------

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> list[Record]:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        consumer = self._member(group, member).consumer
        fetched = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=max_records)
        batch = [
            _record(r)
            for tp in sorted(fetched, key=lambda tp: (tp.topic, tp.partition))
            for r in fetched[tp]
        ]
        record_deliveries(self.trace, self.clock.now(), batch, group, member)
        return batch

    async def commit(
        self,
        group: str,
        member: str,
        offsets: Mapping[TopicPartition, int],
        *,
        generation: int | None = None,
    ) -> None:
        state = self._member(group, member)
        consumer = state.consumer
        refuse_stale_commit(state.since, offsets, generation, group, member)
        request = {
            KafkaTopicPartition(tp.topic, tp.partition): offset for tp, offset in offsets.items()
        }
        try:
            await consumer.commit(request)
        except (CommitFailedError, IllegalStateError) as error:
            raise CommitFailed(
                f"Kafka refused {member}'s commit in group '{group}': {error}"
            ) from None
        now = self.clock.now()
        for tp, offset in offsets.items():
            self.trace.record("committed", now, tp.topic, tp.partition, offset, group, member)

    # --- inspection ---------------------------------------------------------------------

    async def _offsets(
        self, tps: list[KafkaTopicPartition]
    ) -> tuple[dict[Any, int], dict[Any, int]]:
        if self._probe is None:  # one group-less consumer for every offset look-up
            probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
            try:
                await probe.start()
            except KafkaError:
                await probe.stop()
                raise
            self._probe = probe
        return await self._probe.beginning_offsets(tps), await self._probe.end_offsets(tps)

    async def describe(self) -> BrokerState:
        topics = await self.topics()
        tps = [KafkaTopicPartition(t, p) for t, n in topics.items() for p in range(n)]
        begins, ends = await self._offsets(tps) if tps else ({}, {})
        partitions = tuple(
            PartitionState(tp.topic, tp.partition, begins[tp], ends[tp]) for tp in tps
        )
        admin = await self._admin_client()
        groups = sorted({g for g, _ in self._members} | set(self._starts))
        states = []
        for group in groups:
            raw = await admin.list_consumer_group_offsets(group)
            committed = {
                TopicPartition(tp.topic, tp.partition): meta.offset
                for tp, meta in raw.items()
                if meta.offset >= 0
            }
            members = {
                name: await self.assignment(g, name) for g, name in self._members if g == group
            }
            subscribed = {t for (g, _), m in self._members.items() if g == group for t in m.topics}
            watched = sorted(subscribed | {tp.topic for tp in committed})
            owners = {
                tp: m.consumer
                for (g, _), m in self._members.items()
                if g == group
                for tp in m.since
            }
            lag = {}
            for tp in (KafkaTopicPartition(t, p) for t in watched for p in range(topics.get(t, 0))):
                ours = TopicPartition(tp.topic, tp.partition)
                floor = begins[tp] if self._starts.get(group) != "latest" else ends[tp]
                if ours not in committed and ours in owners:  # a live member knows where it is
                    with contextlib.suppress(Exception):
                        floor = await asyncio.wait_for(owners[ours].position(tp), 5)
                lag[ours] = ends[tp] - max(committed.get(ours, floor), begins[tp])
            states.append(GroupState(group, tuple(watched), members, committed, lag))
        return BrokerState(partitions, tuple(states))

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        count = await self._partition_count(topic)
        if not 0 <= partition < count:
            raise ValueError(f"topic '{topic}' has partitions 0..{count - 1}, not {partition}")
        tp = KafkaTopicPartition(topic, partition)
        if limit < 0 or start < 0:
            raise ValueError(f"start and limit must be >= 0, not {start} and {limit}")
        reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        try:
            await reader.start()
            reader.assign([tp])
            begin = (await reader.beginning_offsets([tp]))[tp]
            end = (await reader.end_offsets([tp]))[tp]
            reader.seek(tp, max(start, begin))
            records: list[Record] = []
            for _ in range(1000):
                if len(records) >= limit or (await reader.position(tp)) >= end:
                    break
                fetched = await reader.getmany(
                    tp, timeout_ms=1000, max_records=limit - len(records)
                )
                records.extend(_record(r) for r in fetched.get(tp, []))
            return records
        finally:
            await reader.stop()

    async def close(self, timeout: float = 10.0) -> None:
        """Leave every group and stop the clients; gives up on a client after `timeout` seconds
        (a dead broker must not hang the caller)."""
        clients: list[Any] = [m.consumer for m in self._members.values()]
        self._members.clear()
        if self._producer is not None:
            clients.append(self._producer)
            self._producer = None
        if self._probe is not None:
            clients.append(self._probe)
            self._probe = None
        for client in clients:
            with contextlib.suppress(Exception):  # closing must go on past a broken client
                await asyncio.wait_for(client.stop(), timeout)
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._admin.close(), timeout)
            self._admin = None
