"""What a broker stores (lessons 02 and 07): a topic is a list of partitions, a partition is an
append-only log of records, and a record's offset is its place in its log. A message with a key
goes to the partition the key's murmur2 hash picks, as Kafka's clients choose, so the messages
of one key stay in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

Headers = tuple[tuple[str, bytes], ...]


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]"


class Record(NamedTuple):
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


class Batch(NamedTuple):
    """What a poll returns: the records; the group's generation when they were polled (a commit
    names it); and whether the member has now read to the end of every partition it owns."""

    records: list[Record]
    generation: int
    caught_up: bool


@dataclass
class PartitionLog:
    records: list[Record] = field(default_factory=list)
    start: int = 0  # the offset of records[0]: retention deletes old records and moves it on

    @property
    def end(self) -> int:
        """The offset the next record will get."""
        return self.start + len(self.records)

    def read(self, first: int, count: int) -> list[Record]:
        """Up to `count` records from offset `first` (or from the oldest one still kept)."""
        index = max(first, self.start) - self.start
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
    """A member committed for a partition it no longer owns: the group rebalanced meanwhile."""

    def __init__(self, group: str, member: str, partition: TopicPartition) -> None:
        super().__init__(
            f"{member} no longer owns {partition} in group '{group}' as it did when it read "
            "these records (the group rebalanced); they will be delivered again"
        )
