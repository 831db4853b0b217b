"""What every broker offers (lessons 07 and 08): topics of partitioned logs, producing with
delivery reports, consumer groups with committed offsets. `InMemoryBroker` and the Kafka-backed
broker both implement `Broker`, and one contract test suite runs against both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, Protocol

from eda_lib.clock import Clock
from eda_lib.events import Event, Headers
from eda_lib.trace import Trace

StartFrom = Literal["earliest", "latest"]
"""Where a group starts on a partition it never committed: the oldest record or the next new one."""


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


class Record(NamedTuple):  # a tuple: made for every message, so it must be cheap to make
    """One message in a partition log: bytes in, bytes out, as on Kafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
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


@dataclass(frozen=True)
class Retention:
    """How long a topic keeps records: at most `max_records` per partition, or `max_age`."""

    max_records: int | None = None
    max_age: timedelta | None = None

    def __post_init__(self) -> None:
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
        raise KeyError(f"no consumer group '{name}' (groups: {[g.group for g in self.groups]})")

    def topic(self, name: str) -> tuple[PartitionState, ...]:
        return tuple(p for p in self.partitions if p.topic == name)


class BrokerError(Exception):
    """A broker refused an operation; the message says why and what to do."""


class UnknownTopic(BrokerError, LookupError):
    def __init__(self, topic: str, known: Sequence[str]) -> None:
        super().__init__(
            f"no topic '{topic}' (topics: {', '.join(known) or 'none'}). "
            f"Fix: create it first with `await broker.create_topic('{topic}', partitions=...)`"
        )


class UnknownMember(BrokerError, LookupError):
    def __init__(self, group: str, member: str) -> None:
        super().__init__(
            f"'{member}' is not a live member of group '{group}'. "
            "Fix: join first (`await consumer.start()`), or check the group and member names"
        )


class BrokerUnavailable(BrokerError):
    """The broker is down: the send did not happen. Retrying later may succeed."""


class CommitFailed(BrokerError):
    """A member committed for a partition it no longer owns: the group rebalanced meanwhile."""


def record_deliveries(
    trace: Trace, now: datetime, batch: Sequence[Record], group: str, member: str
) -> None:
    """One 'delivered' hop per record handed to a group member (both brokers do this)."""
    if trace.enabled:
        for record in batch:
            trace.record(
                "delivered", now, record.topic, record.partition, record.offset, group, member
            )


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
        if tp not in owned_since or (generation is not None and owned_since[tp] > generation):
            raise CommitFailed(
                f"{member} no longer owns {tp} in group '{group}' as it did when it read "
                "these records (the group rebalanced); they will be delivered again"
            )


class Codec(Protocol):
    name: str

    def encode(self, event: Event) -> tuple[bytes, Headers]: ...

    def decode(self, value: bytes, headers: Headers) -> Event: ...


class Broker(Protocol):
    """The operations producers, consumers, graphs and tests rely on."""

    name: str
    trace: Trace
    clock: Clock
    codec: Codec
    idle_after: float
    """Seconds a poll must find nothing before a consumer may call the topic idle."""

    async def create_topic(
        self, topic: str, partitions: int = 1, *, retention: Retention | None = None
    ) -> None: ...

    async def delete_topic(self, topic: str) -> None: ...

    async def topics(self) -> dict[str, int]: ...

    async def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Headers = (),
        producer: str = "",
    ) -> DeliveryReport: ...

    async def produce_many(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes, Headers]],
        *,
        producer: str = "",
    ) -> list[DeliveryReport]: ...

    async def flush(self) -> None: ...

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom = "earliest"
    ) -> None: ...

    async def leave(self, group: str, member: str) -> None: ...

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]: ...

    def generation(self, group: str, member: str) -> int: ...

    async def position(self, group: str, member: str, partition: TopicPartition) -> int | None:
        """The offset this member's next poll of `partition` fetches from."""
        ...

    async def low_watermark(self, partition: TopicPartition) -> int:
        """The oldest offset the partition still holds (retention deletes what is older)."""
        ...

    async def resume_point(self, group: str, member: str, partition: TopicPartition) -> int | None:
        """Where this member's reading of `partition` starts after a (re)assignment: the
        committed offset, or the start the group chose; None if the broker cannot tell."""
        ...

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        """Make the member's next poll of `partition` start at `offset` (to replay, or skip)."""
        ...

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> list[Record]: ...

    async def commit(
        self,
        group: str,
        member: str,
        offsets: Mapping[TopicPartition, int],
        *,
        generation: int | None = None,
    ) -> None: ...

    async def describe(self) -> BrokerState: ...

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]: ...

    async def close(self) -> None: ...
