"""An embedded broker with Kafka's shape (lessons 02, 07 and 12): partition logs with offsets,
consumer groups, retention, and a trace of every hop.

It stores records in the teaching core's `PartitionLog` and places keys with its murmur2 rule,
and adds what a lesson needs to look and to break things: every hop goes into `trace`, retention
deletes old records, and a `BrokerFaults` plan loses fetch responses, repeats or reorders
deliveries, or takes the broker down. Deterministic: a seed decides where unkeyed messages go,
and nothing depends on wall time but how long `poll(timeout=...)` waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from eda_lib import clock as clocks
from eda_lib.brokers.base import (
    Batch,
    BrokerState,
    BrokerUnavailable,
    DeliveryReport,
    Headers,
    Message,
    Offsets,
    PartitionState,
    Record,
    Retention,
    StartFrom,
    TopicConflict,
    TopicPartition,
    UnknownTopic,
    check_more_partitions,
    check_new_topic,
    check_poll,
    check_read,
    pick_partition,
)
from eda_lib.brokers.memory_groups import Groups
from eda_lib.clock import Clock
from eda_lib.compaction import KeyRequired, cleaned
from eda_lib.core.broker import PartitionLog
from eda_lib.faults import BrokerFaults
from eda_lib.trace import Trace

FETCH_ATTEMPTS = 5
"""How often a member asks again within one poll when the fault plan loses its fetch response."""


@dataclass
class Topic:
    logs: list[PartitionLog]
    retention: Retention | None
    # compacted topics: partition -> tombstone offset -> when the cleaner may remove it
    horizons: dict[int, dict[int, datetime]] = field(default_factory=dict)


class InMemoryBroker:
    """The embedded default broker. Same protocol as the Kafka one; see `Broker`."""

    name = "in-memory"

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        trace: bool = True,
        faults: BrokerFaults | None = None,
    ) -> None:
        self.clock: Clock = clock or clocks.default_clock()
        self.trace = Trace(self.clock, enabled=trace)
        self.faults = faults  # what this broker does wrong (lesson 12); None: nothing
        self._topics: dict[str, Topic] = {}
        self._rng = random.Random(seed)  # where unkeyed messages go
        self._groups = Groups(self._logs_of, self.trace)
        self._arrival = asyncio.Event()  # set when a record is stored, for waiting polls

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.close()

    # --- topics -------------------------------------------------------------------------

    async def create_topic(
        self, topic: str, partitions: int = 1, *, retention: Retention | None = None
    ) -> None:
        """Create `topic`; creating it again with the same partition count does nothing."""
        check_new_topic(topic, partitions)
        existing = self._topics.get(topic)
        if existing is None:
            self._topics[topic] = Topic([PartitionLog() for _ in range(partitions)], retention)
        elif len(existing.logs) != partitions:
            raise TopicConflict(topic, len(existing.logs), partitions)

    async def delete_topic(self, topic: str) -> None:
        """Delete a topic, its records and every group's offsets for it."""
        self._topic(topic)
        self._groups.forget_topic(topic)  # refuses while a group reads it
        del self._topics[topic]

    async def add_partitions(self, topic: str, total: int) -> None:
        """Grow `topic` to `total` partitions. Groups reading it rebalance at once (a Kafka
        consumer notices at its next metadata refresh, `metadata.max.age.ms`, 5 min by default,
        unless it rejoins earlier)."""
        logs = self._topic(topic).logs
        check_more_partitions(topic, len(logs), total)
        logs.extend(PartitionLog() for _ in range(total - len(logs)))
        self._groups.topic_grew(topic)

    async def topics(self) -> dict[str, int]:
        return {name: len(topic.logs) for name, topic in self._topics.items()}

    def _topic(self, name: str) -> Topic:
        topic = self._topics.get(name)
        if topic is None:
            raise UnknownTopic(name, list(self._topics))
        return topic

    def _logs_of(self, topic: str) -> list[PartitionLog]:
        return self._topic(topic).logs

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
        """Store a message on the partition its key picks (Kafka's rule), or on a random one
        if it has no key; stored before it returns."""
        target = self._topic(topic)
        now = self.clock.now()
        if self.faults is not None and self.faults.down(now):
            if self.trace.enabled:
                detail = "the broker is down: nothing was stored"
                self.trace.record("unavailable", topic, actor=producer, detail=detail)
            raise BrokerUnavailable(
                f"the broker is down; the send to '{topic}' did not happen. Fix: retry "
                "later (a Producer with a RetryPolicy does)"
            )
        if key is None and target.retention is not None and target.retention.compact:
            raise KeyRequired(topic)
        partition = pick_partition(key, len(target.logs), self._rng)
        log = target.logs[partition]
        offset = log.end
        log.records.append(Record(topic, partition, offset, key, value, headers, now))
        log.end = offset + 1
        report = DeliveryReport(topic, partition, offset, now)
        if target.retention is not None:
            self._expire(topic, target, now)
        if self.trace.enabled:
            self.trace.stored(report, producer)
        self._arrival.set()
        return report

    async def produce_many(
        self, topic: str, messages: Sequence[Message], *, producer: str = ""
    ) -> list[DeliveryReport]:
        return [
            await self.produce(topic, value, key=key, headers=headers, producer=producer)
            for key, value, headers in messages
        ]

    async def flush(self) -> None:
        """Nothing to wait for: in memory a send is stored before it returns."""

    # --- retention ----------------------------------------------------------------------

    def expire(self) -> None:
        """Apply age-based retention now (a virtual clock may have moved since the last send)."""
        now = self.clock.now()
        for name, topic in self._topics.items():
            if topic.retention is not None:
                self._expire(name, topic, now)

    def _expire(self, name: str, topic: Topic, now: datetime) -> None:
        """Delete the oldest records beyond the topic's retention (by count, or by age)."""
        assert topic.retention is not None
        max_records, max_age = topic.retention.max_records, topic.retention.max_age
        for log in topic.logs:
            drop = 0 if max_records is None else max(0, len(log.records) - max_records)
            if max_age is not None:
                while drop < len(log.records) and log.records[drop].timestamp < now - max_age:
                    drop += 1
            for record in log.records[:drop]:
                self.trace.record("expired", name, record.partition, record.offset)
            del log.records[:drop]
            log.start = log.records[0].offset if log.records else log.end

    async def compact(self, topic: str, *, timeout: float = 30.0) -> int:
        """Run the log cleaner on a compacted topic now; then how many records compaction has
        removed from the topic so far (the gaps in its logs, as `eda_lib.compaction.removed`).
        Kafka's cleaner runs by itself, every `log.cleaner.backoff.ms`, and never cleans the
        segment still being written; this one cleans the whole log when asked (lesson 07).
        `timeout` is for Kafka's broker, which waits for its cleaner."""
        target = self._topic(topic)
        if target.retention is None or not target.retention.compact:
            raise ValueError(
                f"'{topic}' is not compacted. Fix: create it with Retention(compact=True)"
            )
        now = self.clock.now()
        for number, log in enumerate(target.logs):
            kept = cleaned(
                log.records,
                now=now,
                delete_retention=target.retention.delete_retention,
                horizons=target.horizons.setdefault(number, {}),
            )
            survivors = {record.offset for record in kept}
            for record in log.records:
                if record.offset not in survivors:
                    self.trace.record("compacted", topic, number, record.offset)
            log.records = kept
        return sum(log.end - log.start - len(log.records) for log in target.logs)  # the gaps

    # --- groups -------------------------------------------------------------------------

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None:
        self._groups.join(group, topics, member, start)

    async def leave(self, group: str, member: str) -> None:
        self._groups.leave(group, member)

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        return self._groups.member(group, member)[1].assignment

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        self._groups.seek(group, member, partition, offset)

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> Batch:
        """The member's next records. If it has read everything, it waits up to `timeout`
        seconds for a record to be stored (a lost fetch response is not waited out)."""
        check_poll(max_records)
        batch = self._fetch(group, member, max_records)
        if batch.records or timeout <= 0 or not batch.caught_up:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not batch.records and (remaining := deadline - loop.time()) > 0:
            self._arrival.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrival.wait(), remaining)
            batch = self._fetch(group, member, max_records)
        return batch

    def _fetch(self, group: str, member: str, max_records: int) -> Batch:
        """One fetch and its response. A faulty network may lose the response: the member's
        positions then stay put and it asks again, as a Kafka client does when a fetch times
        out; after `FETCH_ATTEMPTS` lost responses in a row, this poll comes back empty."""
        records = self._groups.take(group, member, max_records)
        if self.faults is not None and records:
            for _ in range(FETCH_ATTEMPTS):
                if not self.faults.lost(records, self.trace, group, member):
                    break
                records = self._groups.take(group, member, max_records)
            else:  # every try was lost: nothing arrived, and the member is not caught up
                return Batch([], self._groups.generation(group, member), False)
        self._groups.advance(group, member)
        if self.faults is not None:
            records = self.faults.disturb(records, self.trace, group, member)
        if self.trace.enabled:
            self.trace.delivered(records, group, member)
        generation = self._groups.generation(group, member)
        return Batch(records, generation, self._groups.caught_up(group, member))

    async def commit(
        self, group: str, member: str, offsets: Offsets, *, generation: int | None = None
    ) -> None:
        """Commit for partitions this member owns. With `generation` (when the records were
        polled), refuse a partition that changed hands since: its new owner may have moved on,
        and the old commit would take the group's offset back."""
        self._groups.commit(group, member, offsets, generation)

    # --- inspection ---------------------------------------------------------------------

    async def describe(self, topics: Collection[str] | None = None) -> BrokerState:
        partitions = tuple(
            PartitionState(name, number, log.start, log.end)
            for name, topic in self._topics.items()
            for number, log in enumerate(topic.logs)
        )
        state = BrokerState(partitions, self._groups.states())
        return state if topics is None else state.only(topics)

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        logs = self._topic(topic).logs
        check_read(topic, partition, len(logs), start, limit)
        return logs[partition].read(start, limit)

    async def close(self) -> None:
        self._groups.clear()
