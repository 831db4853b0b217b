"""The in-memory broker's storage: one append-only log per partition, with retention."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from eda_lib.brokers.base import (
    PartitionState,
    Record,
    Retention,
    TopicConflict,
    TopicPartition,
    UnknownTopic,
    check_new_topic,
    check_read,
    make_record,
    partition_for_key,
)
from eda_lib.codecs import Headers
from eda_lib.trace import Trace


@dataclass(slots=True)
class PartitionLog:
    records: list[Record] = field(default_factory=list)
    start: int = 0  # offset of records[0]: retention moves it on

    @property
    def end(self) -> int:
        return self.start + len(self.records)

    def slice(self, first: int, count: int) -> list[Record]:
        """Up to `count` records from offset `first` (or from the oldest one still kept)."""
        index = max(first, self.start) - self.start
        return self.records[index : index + count]


@dataclass(slots=True)
class _Topic:
    logs: list[PartitionLog]
    retention: Retention | None


class Logs:
    """Every topic's partition logs. Appends are stored before they return; nothing is lost."""

    def __init__(self, trace: Trace, rng: random.Random) -> None:
        self.trace = trace
        self._rng = rng  # where unkeyed messages go
        self._topics: dict[str, _Topic] = {}

    def create(self, topic: str, partitions: int, retention: Retention | None) -> None:
        check_new_topic(topic, partitions)
        existing = self._topics.get(topic)
        if existing is not None:
            if len(existing.logs) != partitions:
                raise TopicConflict(topic, len(existing.logs), partitions)
            return
        self._topics[topic] = _Topic([PartitionLog() for _ in range(partitions)], retention)

    def delete(self, topic: str) -> None:
        self._topic(topic)
        del self._topics[topic]

    def counts(self) -> dict[str, int]:
        return {name: len(topic.logs) for name, topic in self._topics.items()}

    def partitions(self, topic: str) -> int:
        return len(self._topic(topic).logs)

    def log(self, tp: TopicPartition) -> PartitionLog:
        return self._topics[tp.topic].logs[tp.partition]

    def _topic(self, name: str) -> _Topic:
        try:
            return self._topics[name]
        except KeyError:
            raise UnknownTopic(name, list(self._topics)) from None

    def append(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers, now: datetime
    ) -> Record:
        """Store a message on the partition its key picks (Kafka's rule), or on a random one
        if it has no key; returns it as stored, with its offset."""
        target = self._topics.get(topic)
        if target is None:
            raise UnknownTopic(topic, list(self._topics))
        logs = target.logs
        if key is None:
            partition = self._rng.randrange(len(logs))
        else:
            partition = 0 if len(logs) == 1 else partition_for_key(key, len(logs))
        log = logs[partition]
        record = make_record(
            (topic, partition, log.start + len(log.records), key, value, headers, now)
        )
        log.records.append(record)
        if target.retention is not None:
            self._expire(topic, target, now)
        return record

    def end(self, topic: str, partition: int) -> int:
        """The offset the partition's next record will get."""
        log = self._topics[topic].logs[partition]
        return log.start + len(log.records)

    def expire(self, now: datetime) -> None:
        """Apply age-based retention now (a virtual clock may have moved since the last send)."""
        for name, topic in self._topics.items():
            if topic.retention is not None:
                self._expire(name, topic, now)

    def _expire(self, name: str, topic: _Topic, now: datetime) -> None:
        retention = topic.retention
        assert retention is not None
        oldest_kept = None if retention.max_age is None else now - retention.max_age
        for log in topic.logs:
            drop = 0
            if retention.max_records is not None:
                drop = max(0, len(log.records) - retention.max_records)
            if oldest_kept is not None:
                while drop < len(log.records) and log.records[drop].timestamp < oldest_kept:
                    drop += 1
            for record in log.records[:drop]:
                self.trace.record("expired", name, record.partition, record.offset)
            del log.records[:drop]
            log.start += drop

    def read(self, topic: str, partition: int, start: int, limit: int) -> list[Record]:
        logs = self._topic(topic).logs
        check_read(topic, partition, len(logs), start, limit)
        return logs[partition].slice(start, limit)

    def states(self) -> Iterator[PartitionState]:
        for name, topic in self._topics.items():
            for number, log in enumerate(topic.logs):
                yield PartitionState(name, number, log.start, log.end)
