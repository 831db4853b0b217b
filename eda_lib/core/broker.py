"""A broker (lessons 02 and 07): topics of partition logs, and consumer groups that share out a
topic's partitions among their members and remember how far the group has read.

When a member joins or leaves, its group *rebalances*: the partitions are dealt out again and
the group's generation goes up by one. Every member then starts where the group last committed,
so a record that was delivered but not committed is delivered again: at least once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from eda_lib.core.log import (
    Batch,
    CommitFailed,
    DeliveryReport,
    Headers,
    PartitionLog,
    Record,
    TopicPartition,
    UnknownMember,
    UnknownTopic,
    partition_for_key,
)

StartFrom = Literal["earliest", "latest"]  # where a member starts if its group never committed
Offsets = Mapping[TopicPartition, int]  # partition -> the next offset to read


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

    async def topics(self) -> dict[str, int]:
        return {topic: len(logs) for topic, logs in self.logs.items()}

    def _topic(self, topic: str) -> list[PartitionLog]:
        if topic not in self.logs:
            raise UnknownTopic(topic, list(self.logs))
        return self.logs[topic]

    async def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        producer: str = "",  # who sent it: a broker with a trace records that, this one does not
    ) -> DeliveryReport:
        logs = self._topic(topic)
        n = len(logs)
        partition = self.rng.randrange(n) if key is None else partition_for_key(key, n)
        log, now = logs[partition], datetime.now(UTC)
        log.records.append(Record(topic, partition, log.end, key, value, headers, now))
        return DeliveryReport(topic, partition, log.end - 1, now)

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        return self._topic(topic)[partition].read(start, limit)

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom = "earliest"
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
        """Deal each topic's partitions out in turn to the members that read it, as Kafka's
        round-robin assignor does for one topic; each starts where the group committed."""
        state.generation += 1
        state.positions = {member: {} for member in state.topics}
        for topic in sorted({topic for read in state.topics.values() for topic in read}):
            readers = [member for member, read in state.topics.items() if topic in read]
            for partition, log in enumerate(self.logs[topic]):
                member, tp = readers[partition % len(readers)], TopicPartition(topic, partition)
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
        """The member's next records, from each of its partitions in turn."""
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
        """The group is done below these offsets. Refused for a partition the member does not
        own, or for records polled in an earlier generation (the group rebalanced since)."""
        state = self._group(group, member)
        for tp in offsets:
            if tp not in state.positions[member] or generation not in (None, state.generation):
                raise CommitFailed(group, member, tp)
        state.committed.update(offsets)
