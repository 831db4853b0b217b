"""An embedded broker with Kafka's shape: partition logs, offsets, consumer groups, retention.

Deterministic (a seed decides where unkeyed messages go, nothing depends on wall time but
`poll(timeout=...)` waiting) and fully inspectable, so a lesson can show every offset.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka.partitioner import murmur2

from eda_lib import clock as clocks
from eda_lib.brokers.base import (
    BrokerError,
    BrokerState,
    BrokerUnavailable,
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
from eda_lib.clock import Clock
from eda_lib.events import Headers, StructuredJson
from eda_lib.faults import BrokerFaults
from eda_lib.trace import Trace


def partition_for_key(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner for keyed messages: murmur2 of the key bytes, made positive,
    modulo the partition count. The same key lands on the same partition number as on Kafka."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass(slots=True)
class _Log:
    records: list[Record] = field(default_factory=list)
    start: int = 0  # offset of records[0]

    @property
    def end(self) -> int:
        return self.start + len(self.records)


@dataclass(slots=True)
class _Topic:
    name: str
    logs: list[_Log]
    retention: Retention | None


@dataclass(slots=True)
class _Member:
    name: str
    topics: tuple[str, ...]
    start: StartFrom
    assignment: tuple[TopicPartition, ...] = ()
    # None: read the committed offset at the next poll (so a commit made just after a
    # rebalance, for a partition this member kept, still counts).
    positions: dict[TopicPartition, int | None] = field(default_factory=dict)
    since: dict[TopicPartition, int] = field(default_factory=dict)  # owned since generation
    turn: int = 0  # which assigned partition a poll reads first, so none starves


@dataclass(slots=True)
class _Group:
    name: str
    members: dict[str, _Member] = field(default_factory=dict)  # in join order
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    # Where a partition without a commit started for this group (its 'earliest' or 'latest'
    # was decided once), so a rebalance before the first commit neither skips nor repeats.
    started: dict[TopicPartition, int] = field(default_factory=dict)
    generation: int = 0


class InMemoryBroker:
    """The embedded default broker. Same protocol as the Kafka one; see `Broker`."""

    name = "in-memory"
    idle_after = 0.0  # a send is stored before it returns, so an empty poll means idle

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        trace: bool = True,
        faults: BrokerFaults | None = None,
    ) -> None:
        self.clock = clock or clocks.default_clock()
        self.trace = Trace(enabled=trace)
        self.codec = StructuredJson()
        self.faults = faults  # what this broker does wrong (lesson 12); None: nothing
        self._rng = random.Random(seed)
        self._topics: dict[str, _Topic] = {}
        self._groups: dict[str, _Group] = {}
        self._arrival = asyncio.Event()
        self._waiting = 0

    # --- topics -------------------------------------------------------------------------

    async def create_topic(
        self, topic: str, partitions: int = 1, *, retention: Retention | None = None
    ) -> None:
        if not topic or not isinstance(topic, str):
            raise ValueError("a topic needs a non-empty name, e.g. 'payments'")
        if partitions < 1:
            raise ValueError(f"a topic needs at least 1 partition, not {partitions}")
        if topic in self._topics:
            existing = len(self._topics[topic].logs)
            if existing != partitions:
                raise BrokerError(
                    f"topic '{topic}' exists with {existing} partitions, not {partitions}. "
                    "Fix: use the existing count or another topic name"
                )
            return
        self._topics[topic] = _Topic(topic, [_Log() for _ in range(partitions)], retention)

    async def delete_topic(self, topic: str) -> None:
        """Delete a topic, its records and every group's offsets for it."""
        self._topic(topic)
        for group in self._groups.values():
            if any(topic in m.topics for m in group.members.values()):
                raise BrokerError(
                    f"group '{group.name}' still reads '{topic}'. Fix: stop its consumers first"
                )
        for group in self._groups.values():
            group.committed = {tp: o for tp, o in group.committed.items() if tp.topic != topic}
            group.started = {tp: o for tp, o in group.started.items() if tp.topic != topic}
        del self._topics[topic]

    async def topics(self) -> dict[str, int]:
        return {name: len(topic.logs) for name, topic in self._topics.items()}

    def _topic(self, name: str) -> _Topic:
        try:
            return self._topics[name]
        except KeyError:
            raise UnknownTopic(name, list(self._topics)) from None

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
        target = self._topic(topic)
        if self.faults is not None and self.faults.down(self.clock.now()):
            self.trace.record(
                "unavailable",
                self.clock.now(),
                topic,
                -1,
                -1,
                "",
                producer,
                detail="the broker is down: nothing was stored",
            )
            raise BrokerUnavailable(
                f"the broker is down; the send to '{topic}' did not happen. Fix: retry later "
                "(a Producer with a RetryPolicy does)"
            )
        count = len(target.logs)
        partition = self._rng.randrange(count) if key is None else partition_for_key(key, count)
        log = target.logs[partition]
        offset = log.end
        timestamp = self.clock.now()
        log.records.append(Record(topic, partition, offset, key, value, headers, timestamp))
        self.trace.record("stored", timestamp, topic, partition, offset, "", producer)
        if target.retention is not None:
            self._expire(target)
        if self._waiting:
            self._arrival.set()
        return DeliveryReport(topic, partition, offset, timestamp)

    async def produce_many(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes, Headers]],
        *,
        producer: str = "",
    ) -> list[DeliveryReport]:
        return [
            await self.produce(topic, value, key=key, headers=headers, producer=producer)
            for key, value, headers in messages
        ]

    async def flush(self) -> None:
        """Nothing to wait for: in memory a send is stored before it returns."""

    def _expire(self, topic: _Topic) -> None:
        retention = topic.retention
        if retention is None:
            return
        oldest_kept = None if retention.max_age is None else self.clock.now() - retention.max_age
        for log in topic.logs:
            drop = 0
            if retention.max_records is not None:
                drop = max(0, len(log.records) - retention.max_records)
            if oldest_kept is not None:
                while drop < len(log.records) and log.records[drop].timestamp < oldest_kept:
                    drop += 1
            for record in log.records[:drop]:
                self.trace.record(
                    "expired",
                    self.clock.now(),
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                )
            del log.records[:drop]
            log.start += drop

    def expire(self) -> None:
        """Apply age-based retention now (a virtual clock may have moved since the last send)."""
        for topic in self._topics.values():
            self._expire(topic)

    # --- groups -------------------------------------------------------------------------

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom = "earliest"
    ) -> None:
        if start not in ("earliest", "latest"):
            raise ValueError(f"start must be 'earliest' or 'latest', not {start!r}")
        if not topics:
            raise ValueError("subscribe to at least one topic")
        for topic in topics:
            self._topic(topic)
        state = self._groups.setdefault(group, _Group(group))
        if member in state.members:
            raise BrokerError(
                f"'{member}' is already a member of group '{group}'. "
                "Fix: give each consumer in a group its own name"
            )
        state.members[member] = _Member(member, tuple(topics), start)
        self._rebalance(state)

    async def leave(self, group: str, member: str) -> None:
        state = self._groups.get(group)
        if state is None or member not in state.members:
            raise UnknownMember(group, member)
        del state.members[member]
        self._rebalance(state)

    def _rebalance(self, group: _Group) -> None:
        """Round-robin over sorted partitions, as Kafka's RoundRobinAssignor does. Every member
        restarts from the committed offsets, so whatever was delivered but not committed is
        delivered again, to whichever member owns the partition now. A partition with no
        committed offset starts where the owner's `start` says, decided now, as on Kafka."""
        members = list(group.members.values())
        subscribed = sorted({topic for m in members for topic in m.topics})
        owned: dict[str, list[TopicPartition]] = {m.name: [] for m in members}
        turn = 0
        for topic in subscribed:
            for partition in range(len(self._topics[topic].logs)):
                for _ in range(len(members)):
                    candidate = members[turn % len(members)]
                    turn += 1
                    if topic in candidate.topics:
                        owned[candidate.name].append(TopicPartition(topic, partition))
                        break
        group.generation += 1
        for m in members:
            kept = set(m.assignment)
            m.assignment = tuple(owned[m.name])
            m.since = {tp: m.since[tp] if tp in kept else group.generation for tp in m.assignment}
            for tp in m.assignment:
                if tp not in group.committed:
                    group.started.setdefault(tp, self._start_position(group, tp, m.start))
            m.positions = dict.fromkeys(m.assignment)  # resolved at the next poll
            m.turn = 0
        layout = "; ".join(
            f"{m.name}: {', '.join(map(str, m.assignment)) or '(idle)'}" for m in members
        )
        self.trace.record(
            "rebalanced",
            self.clock.now(),
            group=group.name,
            detail=f"generation {group.generation}: {layout or 'no live members'}",
        )

    def _start_position(self, group: _Group, tp: TopicPartition, start: StartFrom) -> int:
        log = self._topics[tp.topic].logs[tp.partition]
        committed = group.committed.get(tp, group.started.get(tp))
        if committed is None:
            return log.start if start == "earliest" else log.end
        return max(committed, log.start)  # retention may have deleted what was never read

    def _member(self, group: str, member: str) -> tuple[_Group, _Member]:
        state = self._groups.get(group)
        if state is None or member not in state.members:
            raise UnknownMember(group, member)
        return state, state.members[member]

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        return self._member(group, member)[1].assignment

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        _, me = self._member(group, member)
        if partition not in me.positions:
            raise BrokerError(
                f"{member} does not own {partition} in group '{group}'. Fix: seek only "
                f"partitions in its assignment: {', '.join(map(str, me.assignment)) or 'none'}"
            )
        log = self._topics[partition.topic].logs[partition.partition]
        if not 0 <= offset <= log.end:
            raise ValueError(f"cannot seek {partition} to {offset}: offsets run 0..{log.end}")
        me.positions[partition] = offset

    async def position(self, group: str, member: str, partition: TopicPartition) -> int | None:
        state, me = self._member(group, member)
        if partition not in me.positions:
            return None
        known = me.positions[partition]
        return self._start_position(state, partition, me.start) if known is None else known

    async def low_watermark(self, partition: TopicPartition) -> int:
        return self._topic(partition.topic).logs[partition.partition].start

    async def resume_point(self, group: str, member: str, partition: TopicPartition) -> int | None:
        state, me = self._member(group, member)
        return self._start_position(state, partition, me.start)

    def generation(self, group: str, member: str) -> int:
        """Bumped at every rebalance: records polled in an older generation may have moved."""
        return self._member(group, member)[0].generation

    # --- consuming ----------------------------------------------------------------------

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> list[Record]:
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {max_records}")
        batch = self._take(group, member, max_records)
        if batch or timeout <= 0:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not batch and (remaining := deadline - loop.time()) > 0:
            self._arrival.clear()
            self._waiting += 1
            try:
                await asyncio.wait_for(self._arrival.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._waiting -= 1
            batch = self._take(group, member, max_records)
        return batch

    def _take(self, group: str, member: str, max_records: int) -> list[Record]:
        _, me = self._member(group, member)
        assigned = me.assignment
        batch: list[Record] = []
        for i in range(len(assigned)):
            tp = assigned[(me.turn + i) % len(assigned)]
            log = self._topics[tp.topic].logs[tp.partition]
            known = me.positions[tp]
            if known is None:
                known = self._start_position(self._groups[group], tp, me.start)
            position = max(known, log.start)
            taken = log.records[
                position - log.start : position - log.start + max_records - len(batch)
            ]
            me.positions[tp] = position + len(taken)
            batch.extend(taken)
            if len(batch) >= max_records:
                break
        me.turn += 1
        if self.faults is not None:
            batch = self.faults.disturb(batch, self.trace, self.clock.now(), group, member)
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
        """Commit for partitions this member owns. With `generation` (when the records were
        polled), refuse a partition that changed hands since: its new owner may have moved on,
        and the old commit would take the group's offset back."""
        state, me = self._member(group, member)
        now = self.clock.now()
        refuse_stale_commit(me.since, offsets, generation, group, member)
        for tp, offset in offsets.items():
            log = self._topics[tp.topic].logs[tp.partition]
            if not 0 <= offset <= log.end:
                raise ValueError(
                    f"cannot commit offset {offset} for {tp}: the log ends at {log.end}"
                )
        for tp, offset in offsets.items():
            state.committed[tp] = offset
            self.trace.record("committed", now, tp.topic, tp.partition, offset, group, member)

    # --- inspection ---------------------------------------------------------------------

    async def describe(self) -> BrokerState:
        partitions = tuple(
            PartitionState(name, number, log.start, log.end)
            for name, topic in self._topics.items()
            for number, log in enumerate(topic.logs)
        )
        return BrokerState(partitions, tuple(self._group_state(g) for g in self._groups.values()))

    def _group_state(self, group: _Group) -> GroupState:
        topics = sorted(
            {t for m in group.members.values() for t in m.topics}
            | {tp.topic for tp in group.committed}
            | {tp.topic for tp in group.started}  # read before, even if nothing was committed
        )
        lag: dict[TopicPartition, int] = {}
        for topic in topics:
            for number, log in enumerate(self._topics[topic].logs):
                tp = TopicPartition(topic, number)
                lag[tp] = log.end - self._start_position(group, tp, "earliest")
        return GroupState(
            group=group.name,
            topics=tuple(topics),
            members={m.name: m.assignment for m in group.members.values()},
            committed=dict(group.committed),
            lag=lag,
        )

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        if limit < 0 or start < 0:
            raise ValueError(f"start and limit must be >= 0, not {start} and {limit}")
        target = self._topic(topic)
        if not 0 <= partition < len(target.logs):
            raise ValueError(
                f"topic '{topic}' has partitions 0..{len(target.logs) - 1}, not {partition}"
            )
        log = target.logs[partition]
        first = max(start, log.start) - log.start
        return log.records[first : first + limit]

    async def close(self) -> None:
        self._groups.clear()
