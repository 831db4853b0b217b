"""An embedded broker with Kafka's shape: partition logs, offsets, consumer groups, retention.

Deterministic (a seed decides where unkeyed messages go, nothing depends on wall time but
`poll(timeout=...)` waiting) and fully inspectable, so a lesson can show every offset. It can
also misbehave on purpose (`BrokerFaults`, lesson 12).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Self

from eda_lib import clock as clocks
from eda_lib.brokers.base import (
    BrokerState,
    BrokerUnavailable,
    DeliveryReport,
    Message,
    Record,
    Retention,
    StartFrom,
    TopicPartition,
    check_poll,
    make_report,
)
from eda_lib.brokers.memory_groups import Groups
from eda_lib.brokers.memory_logs import Logs
from eda_lib.clock import Clock, SystemClock
from eda_lib.codecs import Codec, Headers, StructuredJson
from eda_lib.faults import BrokerFaults
from eda_lib.trace import Trace

FETCH_ATTEMPTS = 5
"""How often a member asks again within one poll when the fault plan loses its fetch response."""


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
        self.clock: Clock = clock or clocks.default_clock()
        # On the system clock, records are stamped to the millisecond, as Kafka stamps them: an
        # aware datetime is slow to make, and thousands of records share each millisecond.
        self._stamp = self.clock.now_ms if isinstance(self.clock, SystemClock) else self.clock.now
        self.trace = Trace(self.clock, enabled=trace)
        self.codec: Codec = StructuredJson()
        self.faults = faults  # what this broker does wrong (lesson 12); None: nothing
        self._logs = Logs(self.trace, random.Random(seed))
        self._groups = Groups(self._logs, self.trace)
        # Asked once per event a consumer handles: answered without a call in between (unless
        # a subclass has its own).
        if type(self).generation is InMemoryBroker.generation:
            self.generation = self._groups.generation  # type: ignore[method-assign]
        if type(self).commit is InMemoryBroker.commit:
            self.commit = self._groups.commit  # type: ignore[method-assign]
        self._arrival = asyncio.Event()
        self._waiting = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.close()

    # --- topics -------------------------------------------------------------------------

    async def create_topic(
        self, topic: str, partitions: int = 1, *, retention: Retention | None = None
    ) -> None:
        self._logs.create(topic, partitions, retention)

    async def delete_topic(self, topic: str) -> None:
        """Delete a topic, its records and every group's offsets for it."""
        self._logs.partitions(topic)  # raises UnknownTopic
        self._groups.forget_topic(topic)
        self._logs.delete(topic)

    async def topics(self) -> dict[str, int]:
        return self._logs.counts()

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
        now = self._stamp()
        if self.faults is not None:
            self._logs.partitions(topic)  # an unknown topic is refused before an outage
            if self.faults.down(now):
                detail = "the broker is down: nothing was stored"
                self.trace.record("unavailable", topic, -1, -1, "", producer, detail=detail)
                raise BrokerUnavailable(
                    f"the broker is down; the send to '{topic}' did not happen. Fix: retry "
                    "later (a Producer with a RetryPolicy does)"
                )
        record = self._logs.append(topic, key, value, headers, now)
        self.trace.record("stored", topic, record.partition, record.offset, "", producer)
        if self._waiting:
            self._arrival.set()
        return make_report((topic, record.partition, record.offset, now))

    async def produce_many(
        self, topic: str, messages: Sequence[Message], *, producer: str = ""
    ) -> list[DeliveryReport]:
        return [
            await self.produce(topic, value, key=key, headers=headers, producer=producer)
            for key, value, headers in messages
        ]

    async def flush(self) -> None:
        """Nothing to wait for: in memory a send is stored before it returns."""

    def expire(self) -> None:
        """Apply age-based retention now (a virtual clock may have moved since the last send)."""
        self._logs.expire(self.clock.now())

    # --- groups -------------------------------------------------------------------------

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom = "earliest"
    ) -> None:
        self._groups.join(group, topics, member, start)

    async def leave(self, group: str, member: str) -> None:
        self._groups.leave(group, member)

    async def assignment(self, group: str, member: str) -> tuple[TopicPartition, ...]:
        return self._groups.member(group, member)[1].assignment

    async def seek(self, group: str, member: str, partition: TopicPartition, offset: int) -> None:
        self._groups.seek(group, member, partition, offset)

    def generation(self, group: str, member: str) -> int:
        """Bumped at every rebalance: records polled in an older generation may have moved."""
        return self._groups.generation(group, member)

    # --- consuming ----------------------------------------------------------------------

    async def poll(
        self, group: str, member: str, *, max_records: int = 100, timeout: float = 0.0
    ) -> list[Record]:
        check_poll(max_records)
        batch = self._fetch(group, member, max_records)
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
            batch = self._fetch(group, member, max_records)
        return batch

    def _fetch(self, group: str, member: str, max_records: int) -> list[Record]:
        """One fetch and its response. A faulty network may lose the response: the member's
        positions then stay put and it asks again, as a Kafka client does when a fetch times
        out; after `FETCH_ATTEMPTS` lost responses in a row, this poll comes back empty."""
        faults = self.faults
        batch = self._groups.take(group, member, max_records)
        if faults is not None and batch:
            attempts = 1
            while faults.lost(batch, self.trace, group, member):
                if attempts == FETCH_ATTEMPTS:
                    return []
                attempts += 1
                batch = self._groups.take(group, member, max_records)
        self._groups.advance(group, member)
        if faults is not None:
            batch = faults.disturb(batch, self.trace, group, member)
        self.trace.delivered(batch, group, member)
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
        await self._groups.commit(group, member, offsets, generation=generation)

    # --- inspection ---------------------------------------------------------------------

    async def describe(self, topics: Collection[str] | None = None) -> BrokerState:
        state = BrokerState(tuple(self._logs.states()), self._groups.states())
        return state if topics is None else state.only(topics)

    async def read(
        self, topic: str, partition: int, *, start: int = 0, limit: int = 100
    ) -> list[Record]:
        return self._logs.read(topic, partition, start, limit)

    async def close(self) -> None:
        self._groups.clear()
