"""A broker (lessons 02 and 07). A topic is a list of partitions; a partition is an append-only
log of records, and a record's offset is its place in the log. A keyed message goes to the
partition its key's murmur2 hash picks, as on Kafka, so one key's messages stay in order.

A consumer group shares a topic's partitions out among its members and remembers how far it has
read (its committed offsets). When a member joins or leaves, the group *rebalances*: partitions
are dealt out again, the generation goes up, and each member starts where the group committed (a
record delivered but not committed comes again), or where `start` (`auto.offset.reset`) says."""

from __future__ import annotations

import asyncio
import bisect
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple

Headers = tuple[tuple[str, bytes], ...]
StartFrom = Literal["earliest", "latest"]  # where a member starts if its group never committed


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


Offsets = Mapping[TopicPartition, int]  # partition -> the next offset to read


class Record(NamedTuple):
    """One message in a partition log, bytes as on Kafka; a None value is a tombstone (07)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: datetime

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


class DeliveryReport(NamedTuple):
    """Where the broker stored a message: Kafka's delivery report (course chapter 3)."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime

    def __str__(self) -> str:
        return f"delivered to {self.topic}[{self.partition}] at offset {self.offset}"


class Batch(NamedTuple):
    """A poll's records, the group's generation then, and whether the member has read it all."""

    records: list[Record]
    generation: int
    caught_up: bool


@dataclass
class PartitionLog:
    records: list[Record] = field(default_factory=list)  # in offset order
    start: int = 0  # the oldest offset still kept (the full broker's retention moves it on)
    end: int = 0  # the offset the next record will get

    def read(self, first: int, count: int) -> list[Record]:
        """Up to `count` records from offset `first` on (compaction leaves gaps in offsets)."""
        index = bisect.bisect_left(self.records, first, key=lambda record: record.offset)
        return self.records[index : index + count]


def murmur2(data: bytes) -> int:
    """The 32-bit murmur2 hash of `data` (unsigned), as Kafka's `Utils.murmur2` computes it."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF  # arithmetic on 32-bit words: mask after multiplying
    h = 0x9747B28C ^ len(data)
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):  # four bytes at a time, little-endian
        k = (int.from_bytes(data[i : i + 4], "little") * m) & mask
        h = ((h * m) & mask) ^ (((k ^ (k >> 24)) * m) & mask)
    if whole < len(data):  # the last one to three bytes
        h = ((h ^ int.from_bytes(data[whole:], "little")) * m) & mask
    h = ((h ^ (h >> 13)) * m) & mask
    return h ^ (h >> 15)


def partition_for_key(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner: murmur2 of the key, sign bit cleared, modulo the count."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class BrokerError(Exception):
    """A broker refused an operation; the message says why and what to do."""


class UnknownTopic(BrokerError, LookupError):
    def __init__(self, topic: str, known: list[str]) -> None:
        fix = f"create it first with `await broker.create_topic('{topic}', partitions=...)`"
        super().__init__(f"no topic '{topic}' (topics: {', '.join(known) or 'none'}). Fix: {fix}")


class UnknownMember(BrokerError, LookupError):
    def __init__(self, group: str, member: str) -> None:
        fix = "join first (`await consumer.start()`), or check the group and member names"
        super().__init__(f"'{member}' is not a live member of group '{group}'. Fix: {fix}")


class CommitFailed(BrokerError):
    def __init__(self, group: str, member: str, partition: TopicPartition) -> None:
        why = "the group rebalanced since it read these records, which will be delivered again"
        super().__init__(f"{member}'s commit for {partition} in group '{group}' refused: {why}")


@dataclass
class Group:
    topics: dict[str, Sequence[str]] = field(default_factory=dict)  # member -> topics it reads
    starts: dict[str, StartFrom] = field(default_factory=dict)  # member -> where it starts
    positions: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)  # member -> ..
    committed: dict[TopicPartition, int] = field(default_factory=dict)  # what the group finished
    generation: int = 0


class CoreBroker:
    """Topics and groups, with the same methods as `eda_lib.Broker` for what it covers."""

    def __init__(self, seed: int = 0) -> None:
        self.logs: dict[str, list[PartitionLog]] = {}
        self.groups: dict[str, Group] = {}
        self.rng = random.Random(seed)  # where a message without a key goes

    async def create_topic(self, topic: str, partitions: int = 1) -> None:
        self.logs.setdefault(topic, [PartitionLog() for _ in range(partitions)])

    def _topic(self, topic: str) -> list[PartitionLog]:
        if topic not in self.logs:
            raise UnknownTopic(topic, list(self.logs))
        return self.logs[topic]

    async def produce(  # `producer` names the sender, for brokers that keep a trace
        self, topic: str, value: bytes | None, *, key: bytes | None = None, headers: Headers = (),
        producer: str = "",
    ) -> DeliveryReport:
        logs = self._topic(topic)
        n = len(logs)
        partition = self.rng.randrange(n) if key is None else partition_for_key(key, n)
        log, offset, now = logs[partition], logs[partition].end, datetime.now(UTC)
        log.records.append(Record(topic, partition, offset, key, value, headers, now))
        log.end = offset + 1
        return DeliveryReport(topic, partition, offset, now)

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        return self._topic(topic)[partition].read(start, limit)

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None:
        for topic in topics:
            self._topic(topic)  # refuses a topic that does not exist
        state = self.groups.setdefault(group, Group())
        state.topics[member], state.starts[member] = topics, start
        self._rebalance(state)

    async def leave(self, group: str, member: str) -> None:
        state = self._group(group, member)
        del state.topics[member], state.starts[member]
        self._rebalance(state)

    def _rebalance(self, state: Group) -> None:
        """Deal all topics' partitions in one turn to the members that read them (round-robin)."""
        state.generation += 1
        state.positions = {member: {} for member in state.topics}
        topics = sorted({topic for read in state.topics.values() for topic in read})
        partitions = [(topic, p, log) for topic in topics for p, log in enumerate(self.logs[topic])]
        for turn, (topic, partition, log) in enumerate(partitions):
            readers = [member for member, read in state.topics.items() if topic in read]
            member, tp = readers[turn % len(readers)], TopicPartition(topic, partition)
            new = log.start if state.starts[member] == "earliest" else log.end
            state.positions[member][tp] = state.committed.get(tp, new)

    def _group(self, group: str, member: str) -> Group:
        state = self.groups.get(group)
        if state is None or member not in state.topics:
            raise UnknownMember(group, member)
        return state

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        return tuple(self._group(group, member).positions[member])

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> Batch:
        """The member's next records, from each of its partitions in order."""
        state = self._group(group, member)
        positions = state.positions[member]
        records: list[Record] = []
        for tp, position in positions.items():
            taken = self.logs[tp.topic][tp.partition].read(position, max_records - len(records))
            if taken:
                records += taken
                positions[tp] = taken[-1].offset + 1
        if not records and timeout > 0:  # nothing new yet: give producers a moment, then look
            await asyncio.sleep(timeout)
            return await self.poll(group, member, max_records=max_records)
        caught_up = all(n >= self.logs[t][p].end for (t, p), n in positions.items())
        return Batch(records, state.generation, caught_up)

    async def commit(
        self, group: str, member: str, offsets: Offsets, *, generation: int | None = None
    ) -> None:
        """Done below these offsets; refused if the group rebalanced since `generation`."""
        state = self._group(group, member)
        for tp in offsets:
            stale = generation is not None and generation != state.generation  # rebalanced
            if stale or tp not in state.positions[member]:
                raise CommitFailed(group, member, tp)
        state.committed.update(offsets)
