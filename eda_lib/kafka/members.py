"""Kafka consumer-group members: one `AIOKafkaConsumer` each, with manual commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    LeaderNotAvailableError,
    StaleMetadata,
)

from eda_lib.brokers.base import (
    Batch,
    BrokerError,
    BrokerUnavailable,
    CommitFailed,
    DuplicateMember,
    NotOwner,
    StartFrom,
    TopicInUse,
    TopicPartition,
    UnknownMember,
    check_join,
    check_poll,
    refuse_stale_commit,
)
from eda_lib.kafka.topics import KafkaTopics, steadily, to_record
from eda_lib.resilience import settle
from eda_lib.trace import Trace

CONSUMER_SETTINGS: dict[str, Any] = {
    "enable_auto_commit": False,
    "heartbeat_interval_ms": 500,
    "session_timeout_ms": 10_000,
    "max_poll_records": 500,
}


@dataclass
class Member:
    consumer: AIOKafkaConsumer
    topics: tuple[str, ...]
    generation: int = 0
    since: dict[TopicPartition, int] = field(default_factory=dict)  # owned since generation
    assigned: asyncio.Event = field(default_factory=asyncio.Event)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: Member) -> None:
        self.member = member

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.member.generation += 1

    async def on_partitions_assigned(self, assigned: Any) -> None:
        member = self.member
        member.generation += 1
        now = {TopicPartition(tp.topic, tp.partition) for tp in assigned}
        member.since = {tp: member.since.get(tp, member.generation) for tp in now}
        member.assigned.set()


class KafkaMembers:
    """The group members a `KafkaBroker` runs, keyed by (group, member)."""

    def __init__(self, topics: KafkaTopics, trace: Trace, join_timeout: float) -> None:
        self.topics = topics
        self.trace = trace
        self.join_timeout = join_timeout
        self._members: dict[tuple[str, str], Member] = {}
        self.starts: dict[str, StartFrom] = {}  # each group's start, kept after members leave

    def of(self, group: str) -> Iterator[tuple[str, Member]]:
        return ((name, m) for (g, name), m in self._members.items() if g == group)

    def groups(self) -> list[str]:
        """Groups with live members, and groups that had some."""
        return sorted({g for g, _ in self._members} | set(self.starts))

    def refuse_if_read(self, topic: str) -> None:
        for (group, _), member in self._members.items():
            if topic in member.topics:
                raise TopicInUse(group, topic)

    def get(self, group: str, member: str) -> Member:
        try:
            return self._members[(group, member)]
        except KeyError:
            raise UnknownMember(group, member) from None

    async def join(self, group: str, topics: Sequence[str], member: str, start: StartFrom) -> None:
        check_join(topics, start)
        if (group, member) in self._members:
            raise DuplicateMember(group, member)
        for topic in topics:
            await self.topics.count(topic)
        consumer = AIOKafkaConsumer(  # closed by leave(), or below if joining fails
            **self.topics.client_options(),
            group_id=group,
            client_id=member,
            auto_offset_reset=start,
            **CONSUMER_SETTINGS,
        )
        state = Member(consumer, tuple(topics))
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
        self.starts.setdefault(group, start)
        await self._settle(group)
        for tp in consumer.assignment():
            await _position(consumer, tp)  # resolve 'earliest'/'latest' now, as InMemoryBroker does
        layout = self.layout(group)
        self.trace.record("rebalanced", group=group, detail=f"{member} joined: {layout}")

    async def _settle(self, group: str) -> None:
        """Wait until the group is stable and our members' assignments are the new ones: no
        partition claimed twice and, when every member is ours, every partition claimed
        (Kafka rebalances in the background)."""
        ours = [m for _, m in self.of(group)]
        partitions = self.topics.partitions
        wanted = {(t, p) for m in ours for t in m.topics for p in range(partitions[t])}
        admin = await self.topics.admin()

        async def settled() -> bool:
            [described] = await steadily(
                lambda: admin.describe_consumer_groups([group]), "describing a group"
            )
            [info] = described.groups
            claimed = [(tp.topic, tp.partition) for m in ours for tp in m.consumer.assignment()]
            everyone_ours = len(info[5]) == len(ours)
            return (
                info[2] in ("Stable", "Empty")
                and len(claimed) == len(set(claimed))
                and (not everyone_ours or set(claimed) == wanted)
            )

        if await settle(settled, timeout=self.join_timeout, every=0.1):
            return
        raise BrokerError(
            f"group '{group}' did not settle within {self.join_timeout:.0f} s of a member "
            "joining or leaving; is the broker healthy?"
        )

    async def topic_grew(self, topic: str) -> None:
        """After `topic` gained partitions: have our members reading it refresh their metadata
        now, not at `metadata.max.age.ms` (5 min), and wait until their groups own the new
        partitions. (aiokafka's coordinator rejoins when a subscribed topic's partition count
        changes; it has no public call to refresh, so its client's is used.)"""
        groups = set()
        for (group, _), member in self._members.items():
            if topic in member.topics:
                member.consumer._client.force_metadata_update()
                groups.add(group)
        for group in sorted(groups):
            await self._settle(group)
            self.trace.record(
                "rebalanced", group=group, detail=f"{topic} grew: {self.layout(group)}"
            )

    def layout(self, group: str) -> str:
        parts = []
        for name, member in self.of(group):
            owned = ", ".join(map(str, self.assignment(member)))
            parts.append(f"{name}: {owned or '(idle)'}")
        return "; ".join(parts)

    @staticmethod
    def assignment(member: Member) -> tuple[TopicPartition, ...]:
        tps = member.consumer.assignment()
        return tuple(sorted(TopicPartition(tp.topic, tp.partition) for tp in tps))

    async def leave(self, group: str, member: str) -> None:
        state = self._members.pop((group, member), None)
        if state is None:
            raise UnknownMember(group, member)
        await state.consumer.stop()  # sends LeaveGroup: the others rebalance at once
        if any(True for _ in self.of(group)):
            await self._settle(group)
        layout = self.layout(group) or "no live members"
        self.trace.record("rebalanced", group=group, detail=f"{member} left: {layout}")

    def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        state = self.get(group, member)
        if partition not in state.since:
            raise NotOwner(group, member, partition, tuple(state.since))
        if offset < 0:
            raise ValueError(f"cannot seek {partition} to {offset}: offsets start at 0")
        state.consumer.seek(KafkaTopicPartition(partition.topic, partition.partition), offset)

    async def poll(self, group: str, member: str, max_records: int, timeout: float) -> Batch:
        check_poll(max_records)
        state = self.get(group, member)
        consumer = state.consumer
        asked_ms = int(1000 * time.time())  # on aiokafka's clock for fetch responses
        try:
            fetched = await consumer.getmany(
                timeout_ms=int(timeout * 1000), max_records=max_records
            )
            records = [
                to_record(r)
                for tp in sorted(fetched, key=lambda tp: (tp.topic, tp.partition))
                for r in fetched[tp]
            ]
            # Whether it has read everything matters only when nothing came (the one idle rule):
            # a poll that brought records is not asked.
            caught_up = not records and await _caught_up(consumer, asked_ms)
            return Batch(records, state.generation, caught_up)
        except KafkaError as error:
            raise BrokerUnavailable(
                f"{member} could not fetch from Kafka ({type(error).__name__}: {error}). "
                "Fix: retry later; nothing was lost"
            ) from error

    async def commit(
        self,
        group: str,
        member: str,
        offsets: Mapping[TopicPartition, int],
        generation: int | None,
    ) -> None:
        state = self.get(group, member)
        refuse_stale_commit(state.since, offsets, generation, group, member)
        request = {
            KafkaTopicPartition(tp.topic, tp.partition): offset for tp, offset in offsets.items()
        }
        try:
            await state.consumer.commit(request)
        except (CommitFailedError, IllegalStateError) as error:  # the group rebalanced
            raise CommitFailed(group, member, next(iter(offsets))) from error
        except KafkaError as error:
            raise BrokerUnavailable(
                f"Kafka did not take {member}'s commit in group '{group}' "
                f"({type(error).__name__}: {error}). Fix: retry later; until then the records "
                "after the last commit will be delivered again"
            ) from error

    def pop_all(self) -> list[AIOKafkaConsumer]:
        """Forget every member; returns their clients for the caller to stop."""
        clients = [m.consumer for m in self._members.values()]
        self._members.clear()
        return clients


async def _caught_up(consumer: AIOKafkaConsumer, since_ms: int) -> bool:
    """Whether the member's position is at the high watermark of every partition it owns, as a
    fetch response that came after `since_ms` told it: an older one may not know of records
    produced a moment ago (and before the first one, nothing is known: not caught up)."""
    for tp in consumer.assignment():
        high, heard = consumer.highwater(tp), consumer.last_poll_timestamp(tp)
        if high is None or heard is None or heard < since_ms:
            return False
        if await consumer.position(tp) < high:
            return False
    return True


async def _position(
    consumer: AIOKafkaConsumer, tp: KafkaTopicPartition, attempts: int = 50
) -> None:
    """The member's position on `tp`. Right after a topic is (re)created, the client's metadata
    may not know the partition's leader yet; it refreshes it, and asking again then works."""
    for attempt in range(attempts):
        try:
            await consumer.position(tp)
            return
        except (StaleMetadata, LeaderNotAvailableError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)
