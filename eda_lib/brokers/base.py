"""What every broker offers (lessons 07 and 08): topics of partitioned logs, producing with
delivery reports, consumer groups with committed offsets, and a look inside. `InMemoryBroker`
and `KafkaBroker` both implement `Broker`, one contract test suite runs against both, and the
type checker proves both match the protocol on every `make lint`.

What every broker shares lives here, or in the teaching core (`eda_lib.core.broker`) where the
core needs it too: one `Record`, one `DeliveryReport`, one `Batch`, Kafka's key partitioner, the
dead-letter topic name, the checks on arguments and the errors they raise, each with its fix.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol, Self

from eda_lib.clock import Clock
from eda_lib.core.broker import (
    Batch,
    BrokerError,
    CommitFailed,
    DeliveryReport,
    Headers,
    Offsets,
    Record,
    StartFrom,
    TopicPartition,
    UnknownMember,
    UnknownTopic,
    partition_for_key,
)
from eda_lib.trace import Trace

__all__ = [  # what the core defines, every broker shares: one Record, one set of errors
    "Batch",
    "BrokerError",
    "CommitFailed",
    "DeliveryReport",
    "Headers",
    "Offsets",
    "Record",
    "StartFrom",
    "TopicPartition",
    "UnknownMember",
    "UnknownTopic",
    "partition_for_key",
]

DEAD_LETTER_SUFFIX = ".dead-letter"
"""A consumer parks what it cannot handle in `<topic>.dead-letter`."""

Message = tuple[bytes | None, bytes | None, Headers]
"""What a producer hands over: key, value, headers."""


def pick_partition(key: bytes | None, partitions: int, rng: random.Random) -> int:
    """Where a message goes: by its key's murmur2 hash (Kafka's rule), or by `rng` if it has no
    key; with one partition there is nothing to choose, and no key to hash."""
    if partitions == 1:
        return 0
    return rng.randrange(partitions) if key is None else partition_for_key(key, partitions)


@dataclass(frozen=True)
class Retention:
    """How long a topic keeps records: at most `max_records` per partition, or `max_age`.

    With `compact` (Kafka's `cleanup.policy=compact`, lesson 07) the log cleaner keeps only the
    last record of each key; a record with a null value, a *tombstone*, deletes its key, and is
    itself removed at the first cleaning at least `delete_retention` (Kafka's
    `delete.retention.ms`, a day by default) after the cleaner first passed it, so that readers
    have time to see the deletion."""

    max_records: int | None = None
    max_age: timedelta | None = None
    compact: bool = False
    delete_retention: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if self.delete_retention < timedelta(0):
            raise ValueError(f"delete_retention must be 0 or more, not {self.delete_retention}")
        if self.max_records is not None and self.max_records < 1:
            raise ValueError(f"max_records must be at least 1, not {self.max_records}")
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise ValueError(f"max_age must be positive, not {self.max_age}")


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    start_offset: int  # the oldest offset still in the log (retention moves it on)
    end_offset: int  # the offset the next record will get

    @property
    def size(self) -> int:
        return self.end_offset - self.start_offset


@dataclass(frozen=True)
class GroupState:
    group: str
    topics: tuple[str, ...]
    members: Mapping[str, tuple[TopicPartition, ...]]  # member -> assigned partitions
    committed: Mapping[TopicPartition, int]
    lag: Mapping[TopicPartition, int]  # records not yet committed by the group

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


@dataclass(frozen=True)
class BrokerState:
    """A snapshot of a broker: what the topology graph and the topic explorer draw."""

    partitions: tuple[PartitionState, ...]
    groups: tuple[GroupState, ...] = field(default=())

    def group(self, name: str) -> GroupState:
        for state in self.groups:
            if state.group == name:
                return state
        raise UnknownGroup(name, [g.group for g in self.groups])

    def has_group(self, name: str) -> bool:
        return any(state.group == name for state in self.groups)

    def topic(self, name: str) -> tuple[PartitionState, ...]:
        return tuple(p for p in self.partitions if p.topic == name)

    def only(self, topics: Collection[str], groups: Collection[str] | None = None) -> BrokerState:
        """This snapshot narrowed to `topics` (their dead-letter topics too) and the groups that
        read them (of those, only `groups` if given): the part of a busy broker one system uses."""
        kept = {*topics, *(t + DEAD_LETTER_SUFFIX for t in topics)}
        readers = tuple(
            replace(
                g,
                topics=tuple(t for t in g.topics if t in kept),
                members={
                    m: tuple(tp for tp in a if tp.topic in kept) for m, a in g.members.items()
                },
                committed={tp: n for tp, n in g.committed.items() if tp.topic in kept},
                lag={tp: n for tp, n in g.lag.items() if tp.topic in kept},
            )
            for g in self.groups
            if kept.intersection(g.topics) and (groups is None or g.group in groups)
        )
        return BrokerState(tuple(p for p in self.partitions if p.topic in kept), readers)


# --- errors: each says what went wrong and how to fix it -------------------------------------


class UnknownGroup(BrokerError, LookupError):
    def __init__(self, group: str, known: Sequence[str]) -> None:
        super().__init__(
            f"no consumer group '{group}' (groups: {', '.join(known) or 'none'}). "
            "Fix: start a Consumer in that group first, or check the name"
        )


class DuplicateMember(BrokerError):
    def __init__(self, group: str, member: str) -> None:
        super().__init__(
            f"'{member}' is already a member of group '{group}'. "
            "Fix: give each consumer in a group its own name"
        )


class TopicConflict(BrokerError):
    def __init__(self, topic: str, existing: int, wanted: int) -> None:
        super().__init__(
            f"topic '{topic}' exists with {existing} partitions, not {wanted}. "
            "Fix: use the existing count or another topic name"
        )


class TopicInUse(BrokerError):
    def __init__(self, group: str, topic: str) -> None:
        super().__init__(f"group '{group}' still reads '{topic}'. Fix: stop its consumers first")


class NotOwner(BrokerError):
    def __init__(
        self, group: str, member: str, partition: TopicPartition, owned: Sequence[TopicPartition]
    ) -> None:
        super().__init__(
            f"{member} does not own {partition} in group '{group}'. Fix: seek only partitions "
            f"in its assignment: {', '.join(map(str, owned)) or 'none'}"
        )


class BrokerUnavailable(BrokerError):
    """The broker is down: the send did not happen. Retrying later may succeed."""


# --- checks both brokers make, with the same words ------------------------------------------


def check_new_topic(topic: str, partitions: int) -> None:
    if not topic or not isinstance(topic, str):
        raise ValueError("a topic needs a non-empty name, e.g. 'payments'")
    if partitions < 1:
        raise ValueError(f"a topic needs at least 1 partition, not {partitions}")


def check_more_partitions(topic: str, existing: int, total: int) -> None:
    if type(total) is not int or total <= existing:
        raise ValueError(
            f"topic '{topic}' has {existing} partitions and can only grow, so {total!r} will "
            f"not do. Fix: ask for more than {existing}, or make a new topic and copy the "
            "records over"
        )


def check_join(topics: Sequence[str], start: str) -> None:
    if start not in ("earliest", "latest"):
        raise ValueError(f"start must be 'earliest' or 'latest', not {start!r}")
    if not topics:
        raise ValueError("subscribe to at least one topic")


def check_poll(max_records: int) -> None:
    if max_records < 1:
        raise ValueError(f"max_records must be at least 1, not {max_records}")


def check_read(topic: str, partition: int, count: int, start: int, limit: int) -> None:
    if not 0 <= partition < count:
        raise ValueError(f"topic '{topic}' has partitions 0..{count - 1}, not {partition}")
    if limit < 0 or start < 0:
        raise ValueError(f"start and limit must be >= 0, not {start} and {limit}")


def refuse_stale_commit(
    owned_since: Mapping[TopicPartition, int],
    offsets: Mapping[TopicPartition, int],
    generation: int | None,
    group: str,
    member: str,
) -> None:
    """Raise `CommitFailed` for a partition the member does not own, or has not owned without a
    break since `generation` (when it polled the records): a stale commit could move the
    group's offset back."""
    for tp in offsets:
        since = owned_since.get(tp)
        if since is None or (generation is not None and since > generation):
            raise CommitFailed(group, member, tp)


# --- the protocol, in four parts, by who uses them --------------------------------------------


class TopicAdmin(Protocol):
    """Creating, deleting and listing topics (Kafka's admin client). Settings only one kind of
    broker has (retention here, replication on Kafka) are keyword arguments of its own."""

    async def create_topic(self, topic: str, partitions: int = 1) -> None: ...

    async def delete_topic(self, topic: str) -> None: ...

    async def add_partitions(self, topic: str, total: int) -> None:
        """Grow `topic` to `total` partitions (Kafka's CreatePartitions: a count only grows).
        Records stay where they are; a key is hashed by the new count from then on, so most
        keys move to another partition. Groups reading the topic rebalance to own the new ones."""
        ...

    async def topics(self) -> dict[str, int]:
        """Every topic and its partition count."""
        ...

    async def compact(self, topic: str, *, timeout: float = 30.0) -> int:
        """Have the log cleaner compact a topic created with `Retention(compact=True)`: the
        in-memory broker runs it now, Kafka's broker waits for Kafka's own (lesson 07). Returns
        how many records compaction has removed from the topic so far."""
        ...


class Producing(Protocol):
    """Appending messages to a topic's partitions, each acknowledged with a delivery report:
    what a `Producer` uses."""

    async def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        producer: str = "",
    ) -> DeliveryReport: ...

    async def produce_many(
        self, topic: str, messages: Sequence[Message], *, producer: str = ""
    ) -> list[DeliveryReport]:
        """Send in order and wait for every acknowledgement at once."""
        ...

    async def flush(self) -> None: ...


class GroupMembership(Protocol):
    """A consumer group's members: joining, polling, committing, seeking, leaving."""

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None: ...

    async def leave(self, group: str, member: str) -> None: ...

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]: ...

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        """Make the member's next poll of `partition` start at `offset` (to replay, or skip)."""
        ...

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> Batch:
        """The member's next records, the group's generation they were polled in, and whether
        the member has read to the end of every partition it owns (what matters when no record
        came: Kafka's adapter asks only then, and says False for a poll that brought some);
        waits up to `timeout` seconds for records if there are none yet."""
        ...

    async def commit(
        self, group: str, member: str, offsets: Offsets, *, generation: int | None = None
    ) -> None:
        """Record that the group is done below these offsets; with `generation` (that of the
        poll that brought the records), refuse a partition that changed hands since (raises
        `CommitFailed`)."""
        ...


class Inspection(Protocol):
    """Looking inside without consuming: offsets, groups and lag, the records themselves."""

    async def describe(self, topics: Collection[str] | None = None) -> BrokerState:
        """The state of every topic and group; with `topics`, of those topics (and their
        dead-letter topics) and the groups that read them, as `BrokerState.only` narrows it."""
        ...

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]: ...


class Consuming(TopicAdmin, Producing, GroupMembership, Protocol):
    """What a `Consumer` uses: its group, and producing and topics for its dead letters."""


class Broker(TopicAdmin, Producing, GroupMembership, Inspection, Protocol):
    """Everything producers, consumers, graphs and tests rely on. Use it with `async with`.
    `trace` is the broker's record of every hop; `clock` stamps records and hops."""

    name: str
    trace: Trace
    clock: Clock

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...
