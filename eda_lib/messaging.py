"""Producers and consumers (lessons 01, 02 and 08). The same code runs on any `Broker`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from eda_lib.brokers.base import (
    Broker,
    BrokerUnavailable,
    CommitFailed,
    DeliveryReport,
    Record,
    StartFrom,
    TopicPartition,
    UnknownMember,
)
from eda_lib.events import Event, Headers, InvalidEvent
from eda_lib.faults import ConsumerFaults
from eda_lib.resilience import ProcessedEvents, RetryPolicy, wait

Handler = Callable[[Event], Awaitable[None] | None]
DEAD_LETTER_SUFFIX = ".dead-letter"
SEEKS_PER_RUN = 50  # seeks back for missing offsets before a run stops to try again later


class _EventKey:
    def __repr__(self) -> str:
        return "EVENT_KEY"


EVENT_KEY = _EventKey()
"""Default for `Producer.send(key=...)`: use the event's own key (its subject)."""


@dataclass(frozen=True)
class SendOutcome:
    """How one `Producer.send_reliably` ended: stored (with its report), or given up on."""

    event_id: str
    attempts: int
    report: DeliveryReport | None = None
    error: str = ""

    @property
    def stored(self) -> bool:
        return self.report is not None


class Producer:
    """Publishes events to a broker and keeps the delivery report of each send. With a
    `RetryPolicy`, `send_reliably` retries while the broker is unavailable."""

    def __init__(
        self, broker: Broker, name: str = "producer", *, retry: RetryPolicy | None = None
    ) -> None:
        self.broker = broker
        self.name = name
        self.retry = retry
        # Seeded per client, so that clients sharing a policy do not retry in lockstep.
        self._rng = (retry or RetryPolicy()).rng(name)
        self.reports: list[DeliveryReport] = []
        self.outcomes: list[SendOutcome] = []

    async def send(
        self, topic: str, event: Event, *, key: str | bytes | _EventKey | None = EVENT_KEY
    ) -> DeliveryReport:
        """Serialise the event, hand it to the broker, and return where it was stored.

        The key decides the partition: events with the same key stay in order. By default the
        key is `event.key`; pass `key=None` to let the broker spread the event.
        """
        raw_key, value, headers = self._message(topic, event, key)
        report = await self.broker.produce(
            topic, value, key=raw_key, headers=headers, producer=self.name
        )
        self.reports.append(report)
        return report

    async def send_reliably(
        self, topic: str, event: Event, *, key: str | bytes | _EventKey | None = EVENT_KEY
    ) -> SendOutcome:
        """Send, retrying with backoff while the broker is unavailable; never raises for an
        outage, but says in the outcome whether the event was finally stored."""
        policy = self.retry or RetryPolicy(max_attempts=1)
        attempts = 0
        while True:
            attempts += 1
            try:
                report = await self.send(topic, event, key=key)
            except BrokerUnavailable as error:
                if attempts >= policy.max_attempts:
                    outcome = SendOutcome(str(event.id), attempts, error=str(error))
                    break
                await wait(self.broker.clock, policy.delay(attempts, self._rng))
            else:
                outcome = SendOutcome(str(event.id), attempts, report)
                break
        self.outcomes.append(outcome)
        return outcome

    async def send_all(
        self, topic: str, events: Sequence[Event], *, chunk: int = 1000
    ) -> list[DeliveryReport]:
        """Send events in order, each with its own key, waiting for acknowledgements a chunk at
        a time rather than one by one (on Kafka: one round trip per chunk, not per event)."""
        reports: list[DeliveryReport] = []
        for first in range(0, len(events), chunk):
            messages = [self._message(topic, e, EVENT_KEY) for e in events[first : first + chunk]]
            reports.extend(await self.broker.produce_many(topic, messages, producer=self.name))
        self.reports.extend(reports)
        return reports

    def _message(
        self, topic: str, event: Event, key: str | bytes | _EventKey | None
    ) -> tuple[bytes | None, bytes, Headers]:
        if not isinstance(event, Event):
            raise TypeError(f"send an eda_lib Event, not {type(event).__name__}")
        chosen = event.key if isinstance(key, _EventKey) else key
        raw_key = chosen.encode() if isinstance(chosen, str) else chosen
        value, headers = self.broker.codec.encode(event)
        trace = self.broker.trace
        if trace.enabled:
            trace.record(
                "produced",
                self.broker.clock.now(),
                topic,
                -1,
                -1,
                "",
                self.name,
                event.event_type,
                event.id,
                "no key" if chosen is None else f"key={chosen}",
            )
        return raw_key, value, headers

    async def flush(self) -> None:
        """Wait until every send so far is acknowledged (call before the program exits)."""
        await self.broker.flush()


class ConsumerCrash(Exception):
    """Raise from a handler to simulate the consumer process dying at that point: it leaves its
    group at once, commits nothing more, and `run` returns with `stopped_because="crashed"`."""


@dataclass(frozen=True)
class RunReport:
    """What one `Consumer.run` did, and why it stopped."""

    processed: int
    handled: int
    ignored: int
    dead_lettered: int
    stopped_because: Literal["max_events", "idle", "timeout", "stopped", "crashed", "stalled"]


_names = itertools.count(1)


class Consumer:
    """A member of a consumer group that hands each event to a handler, then commits.

    `handler` is one function for every event, or a mapping from event class to function
    (events of other types are skipped and committed). A record that cannot be read, or whose
    handler raises, goes to `<topic>.dead-letter` with the reason in its headers; the consumer
    carries on. Runs are always bounded: by `max_events`, by `timeout`, or until idle.

    `commit="each"` (the default) commits after every event, so a crash redelivers at most the
    event being handled. `commit="batch"` commits once per polled batch, at the end of a run and
    on `stop()`: far fewer round trips to a real broker, but a crash redelivers up to a batch.
    `commit="before"` commits each event as it arrives, before handling: at most once, so a
    crash mid-handler loses that event (lesson 12 shows when that trade is worth it).

    `retry` retries a failing handler with backoff before dead-lettering the event;
    `idempotency` remembers applied event ids, so a redelivered event has its effect once.
    """

    def __init__(
        self,
        broker: Broker,
        group: str,
        topics: str | Sequence[str],
        handler: Handler | Mapping[type[Event], Handler],
        *,
        name: str | None = None,
        start: StartFrom = "earliest",
        batch_size: int = 100,
        poll_timeout: float = 0.05,
        commit: Literal["each", "batch", "before"] = "each",
        retry: RetryPolicy | None = None,
        idempotency: ProcessedEvents | None = None,
        faults: ConsumerFaults | None = None,
    ) -> None:
        if commit not in ("each", "batch", "before"):
            raise ValueError(f"commit must be 'each', 'batch' or 'before', not {commit!r}")
        self.broker = broker
        self.group = group
        self.topics = (topics,) if isinstance(topics, str) else tuple(topics)
        self.name = name or f"{group}-{next(_names)}"
        self.start_from = start
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.commit = commit
        self.retry = retry
        self.idempotency = idempotency
        self.faults = faults
        self._next: dict[TopicPartition, int] = {}  # next offset expected, per partition
        self._seeks = 0  # seeks back for missing offsets in the current run
        self._in_run = False
        self._rng = (retry or RetryPolicy()).rng(f"{group}/{self.name}")
        self.retries = 0
        self.duplicates = 0
        # Processed but not yet committed (batch mode): next offset, and the generation in which
        # the records were polled.
        self._done: dict[TopicPartition, tuple[int, int]] = {}
        self._handlers = handler if isinstance(handler, Mapping) else None
        self._handler = None if isinstance(handler, Mapping) else handler
        self._pending: deque[Record] = deque()  # delivered to us, not yet handled
        self._generation = -1
        self._stopping = False
        self.running = False
        self.handled = 0
        self.ignored = 0
        self.dead_lettered = 0

    async def start(self) -> None:
        """Join the group (the group rebalances) and make sure the dead-letter topics exist."""
        existing = await self.broker.topics()
        for topic in self.topics:
            if topic + DEAD_LETTER_SUFFIX not in existing:
                await self.broker.create_topic(topic + DEAD_LETTER_SUFFIX, partitions=1)
        await self.broker.join(self.group, self.topics, member=self.name, start=self.start_from)
        self._next.clear()
        self._generation = self.broker.generation(self.group, self.name)
        self.running = True
        self._stopping = False

    def request_stop(self) -> None:
        """Ask a running `run` to end after the event in hand (which it still commits)."""
        self._stopping = True

    async def stop(self) -> None:
        """Leave the group. Anything received but not yet handled was not committed, so the
        partition's next owner gets it again: nothing is lost."""
        if self.running:
            self._stopping = True
            self._pending.clear()
            self._next.clear()
            await self._flush()
            await self.broker.leave(self.group, self.name)
            self.running = False

    async def assignment(self) -> tuple[TopicPartition, ...]:
        return await self.broker.assignment(self.group, self.name)

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read `partition` again from `offset` (a replay), or skip ahead. Use this rather than
        the broker's `seek`, so the consumer expects those offsets instead of treating them
        as repeats."""
        await self.broker.seek(self.group, self.name, partition, offset)
        self._pending = deque(
            r for r in self._pending if TopicPartition(r.topic, r.partition) != partition
        )
        self._next[partition] = offset

    async def run(
        self,
        *,
        max_events: int | None = None,
        timeout: float | None = None,
        until_idle: bool | None = None,
    ) -> RunReport:
        """Consume until `max_events` are processed, `timeout` seconds pass, or the topic is
        idle (nothing new for the broker's `idle_after` seconds). Without a timeout a run always
        stops when idle, so every run ends; with one, it waits for new events until then."""
        if not self.running:
            raise RuntimeError(
                f"consumer '{self.name}' is not running: call `await consumer.start()`"
            )
        if until_idle is None:
            until_idle = timeout is None
        if not until_idle and timeout is None and max_events is None:
            raise ValueError("this run would never end: give max_events, timeout or until_idle")
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        counts = {"handled": self.handled, "ignored": self.ignored, "dead": self.dead_lettered}
        if self._in_run:
            raise RuntimeError(f"consumer '{self.name}' is already in a run: await that one first")
        self._in_run, self._seeks = True, 0
        try:
            return await self._run(max_events, deadline, until_idle, counts)
        finally:
            self._in_run = False

    async def _run(
        self,
        max_events: int | None,
        deadline: float | None,
        until_idle: bool,
        counts: dict[str, int],
    ) -> RunReport:
        loop = asyncio.get_running_loop()
        processed = 0
        reason: Literal["max_events", "idle", "timeout", "stopped", "crashed", "stalled"] = (
            "stopped"
        )
        while True:
            if self._seeks > SEEKS_PER_RUN:  # offsets keep going missing: try again next run
                reason = "stalled"
                break
            if self._stopping:
                reason = "stopped"
                break
            if max_events is not None and processed >= max_events:
                reason = "max_events"
                break
            if deadline is not None and loop.time() >= deadline:
                reason = "timeout"
                break
            if self._pending and self.broker.generation(self.group, self.name) != self._generation:
                # The group rebalanced since this batch was polled: its partitions restart from
                # the committed offsets, so handling the rest here would handle it twice.
                self._pending.clear()
            if not self._pending:
                await self._flush()
                wait = self.broker.idle_after if until_idle else self.poll_timeout
                if deadline is not None:
                    wait = max(0.0, min(wait, deadline - loop.time()))
                wanted = self.batch_size
                if max_events is not None:
                    wanted = min(wanted, max_events - processed)
                try:
                    batch = await self.broker.poll(
                        self.group, self.name, max_records=wanted, timeout=wait
                    )
                    generation = self.broker.generation(self.group, self.name)
                    if generation != self._generation:  # new assignment: new starting points
                        self._next.clear()
                        self._generation = generation
                    self._pending.extend(await self._in_order(batch))
                except UnknownMember:  # stop() was called while this poll waited
                    reason = "stopped"
                    break
                if batch and not self._pending:
                    continue  # all of it was out of order; what is missing comes next
                if not batch and await self._fetch_lost_tail():
                    continue
                if not self._pending:
                    if until_idle:
                        reason = "idle"
                        break
                    continue
            record = self._pending.popleft()
            try:
                await self._process(record)
            except ConsumerCrash as crash:
                await self._crash(record, str(crash))
                reason = "crashed"
                break
            processed += 1
        await self._flush()
        return RunReport(
            processed=processed,
            handled=self.handled - counts["handled"],
            ignored=self.ignored - counts["ignored"],
            dead_lettered=self.dead_lettered - counts["dead"],
            stopped_because=reason,
        )

    async def _in_order(self, batch: list[Record]) -> list[Record]:
        """Offsets make loss visible: a partition's records must come one after another. A
        record seen before is skipped; a missing offset makes the consumer seek back and fetch
        it again, unless the broker no longer holds it (retention removed it)."""
        kept: list[Record] = []
        rewinding: set[TopicPartition] = set()
        trace, now = self.broker.trace, self.broker.clock.now
        following = self._next
        for record in batch:
            key = (record.topic, record.partition)  # equal to its TopicPartition, and cheaper
            expected = following.get(key)
            if expected == record.offset and not rewinding:  # the usual case: next in line
                kept.append(record)
                following[key] = expected + 1
                continue
            tp = TopicPartition(*key)
            if tp in rewinding:
                continue
            if expected is None:
                expected = await self.broker.resume_point(self.group, self.name, tp)
                expected = record.offset if expected is None else expected
            where = (record.topic, record.partition, record.offset, self.group, self.name)
            if record.offset < expected:
                trace.record("duplicate", now(), *where, detail="this offset came before: skipped")
                self.duplicates += 1
                continue
            if record.offset > expected:
                oldest = await self.broker.low_watermark(tp)
                if expected >= oldest:  # still in the log: fetch it
                    trace.record(
                        "gap",
                        now(),
                        *where,
                        detail=f"expected offset {expected}: seeking back to fetch it",
                    )
                    await self._seek_back(tp, expected)
                    rewinding.add(tp)
                    continue
                trace.record(
                    "gap",
                    now(),
                    *where,
                    detail=f"offsets {expected}..{record.offset - 1} were deleted "
                    "by retention: moving on",
                )
            kept.append(record)
            following[key] = record.offset + 1
        return kept

    async def _seek_back(self, tp: TopicPartition, offset: int) -> None:
        self._seeks += 1
        await self.broker.seek(self.group, self.name, tp, offset)

    async def _fetch_lost_tail(self) -> bool:
        """Nothing came: but if the broker's position ran past what arrived (the last records
        were lost on the way), seek back for them. True if it did."""
        sought = False
        for tp in await self.broker.assignment(self.group, self.name):
            expected = self._next.get(tp)
            if expected is None:
                expected = await self.broker.resume_point(self.group, self.name, tp)
            position = await self.broker.position(self.group, self.name, tp)
            if expected is None or position is None or position <= expected:
                continue
            if expected < await self.broker.low_watermark(tp):
                continue  # deleted by retention: nothing to fetch
            self.broker.trace.record(
                "gap",
                self.broker.clock.now(),
                tp.topic,
                tp.partition,
                expected,
                self.group,
                self.name,
                detail=f"offsets {expected}..{position - 1} never arrived: seeking back",
            )
            await self._seek_back(tp, expected)
            sought = True
        return sought

    async def _process(self, record: Record) -> None:
        trace, now = self.broker.trace, self.broker.clock.now
        where = (record.topic, record.partition, record.offset, self.group, self.name)
        if self.commit == "before":  # at most once: from here on, a crash loses this event
            await self._commit(record, early=True)
        try:
            event = self.broker.codec.decode(record.value, record.headers)
        except InvalidEvent as error:
            if await self._dead_letter(record, error.problem, str(error)):
                await self._commit(record)
            return
        except Exception as error:  # a codec bug must not stop the consumer either
            if await self._dead_letter(record, "undecodable", f"{type(error).__name__}: {error}"):
                await self._commit(record)
            return
        handler = self._handler
        if self._handlers is not None:
            handler = self._handlers.get(type(event))
            if handler is None:
                trace.record(
                    "ignored", now(), *where, event.event_type, event.id, "no handler for this type"
                )
                self.ignored += 1
                return await self._commit(record)
        if self.idempotency is not None and self.idempotency.seen(self.group, event.id):
            trace.record(
                "duplicate", now(), *where, event.event_type, event.id, "already applied: skipped"
            )
            self.duplicates += 1
            return await self._commit(record)
        assert handler is not None
        if self.faults is not None and self.faults.slow:
            await wait(self.broker.clock, self.faults.slow)
        attempts = 0
        while True:
            attempts += 1
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except ConsumerCrash:
                raise
            except Exception as error:  # a handler bug must not stop the consumer
                problem = f"{type(error).__name__}: {error}"
                if self.retry is not None and attempts < self.retry.max_attempts:
                    delay = self.retry.delay(attempts, self._rng)
                    trace.record(
                        "retried",
                        now(),
                        *where,
                        event.event_type,
                        event.id,
                        f"attempt {attempts} failed ({problem}); next in {delay:.2f} s",
                    )
                    self.retries += 1
                    await wait(self.broker.clock, delay)
                    continue
                if not await self._dead_letter(record, "handler_error", problem, event, attempts):
                    return  # not parked: it comes again, and nothing was committed
            else:
                if self.idempotency is not None:
                    self.idempotency.add(self.group, event.id)
                trace.record("handled", now(), *where, event.event_type, event.id)
                self.handled += 1
            break
        faults = self.faults
        if faults and faults.crash_before_commit and faults.crash_before_commit(event):
            raise ConsumerCrash("crashed after handling, before committing")
        if self.commit == "batch":  # the common case on a real broker: no await needed
            self._done[TopicPartition(record.topic, record.partition)] = (
                record.offset + 1,
                self._generation,
            )
        else:
            await self._commit(record)
        if faults and faults.crash_after_commit and faults.crash_after_commit(event):
            if self.commit == "batch":
                await self._flush()  # "after committing" means committed, in batch mode too
            raise ConsumerCrash("crashed right after committing")

    async def _commit(self, record: Record, *, early: bool = False) -> None:
        if self.commit == "batch":
            self._done[TopicPartition(record.topic, record.partition)] = (
                record.offset + 1,
                self._generation,
            )
            return
        if (self.commit == "before") != early:
            return  # "before" commits on arrival only; "each" only after handling
        tp = TopicPartition(record.topic, record.partition)
        try:
            await self.broker.commit(
                self.group, self.name, {tp: record.offset + 1}, generation=self._generation
            )
        except UnknownMember:  # stopped meanwhile: the next owner gets this record again
            self._pending.clear()
        except CommitFailed:
            # The partition moved to another member, which starts from the last commit;
            # drop what we still hold from it rather than handle it twice.
            moved = TopicPartition(record.topic, record.partition)
            self._pending = deque(
                r for r in self._pending if TopicPartition(r.topic, r.partition) != moved
            )

    async def _crash(self, record: Record, why: str) -> None:
        self._pending.clear()
        self._next.clear()
        self._done.clear()  # progress not yet committed dies with the process
        self.broker.trace.record(
            "crashed",
            self.broker.clock.now(),
            record.topic,
            record.partition,
            record.offset,
            self.group,
            self.name,
            detail=why or "the consumer crashed",
        )
        if self.running:
            with contextlib.suppress(UnknownMember):
                await self.broker.leave(self.group, self.name)
            self.running = False

    async def _flush(self) -> None:
        by_generation: dict[int, dict[TopicPartition, int]] = {}
        for tp, (offset, generation) in self._done.items():
            by_generation.setdefault(generation, {})[tp] = offset
        self._done.clear()
        for generation, offsets in by_generation.items():
            for tp, offset in offsets.items():
                # One partition at a time: one that changed hands is refused alone, and its
                # records are delivered again by its new owner; nothing is lost.
                with contextlib.suppress(CommitFailed, UnknownMember):
                    await self.broker.commit(
                        self.group, self.name, {tp: offset}, generation=generation
                    )

    async def _dead_letter(
        self, record: Record, reason: str, error: str, event: Event | None = None, attempts: int = 1
    ) -> bool:
        """Copy the record to the dead-letter topic; False if the broker would not take it."""
        trace, now = self.broker.trace, self.broker.clock.now()
        where = (record.topic, record.partition, record.offset, self.group, self.name)
        kind = (event.event_type, event.id) if event else ("", "")
        trace.record("failed", now, *where, *kind, f"{reason}: {error}")
        headers = (
            *record.headers,
            ("dlt-reason", reason.encode()),
            # The error may quote bad input, lone surrogates included: never fail on it here.
            ("dlt-error", error.encode("utf-8", "backslashreplace")),
            ("dlt-source", f"{record.topic}[{record.partition}]@{record.offset}".encode()),
            ("dlt-group", self.group.encode()),
            ("dlt-attempts", str(attempts).encode()),
        )
        target = record.topic + DEAD_LETTER_SUFFIX
        policy = self.retry or RetryPolicy(max_attempts=3, base_delay=0.5)
        for attempt in range(1, policy.max_attempts + 1):
            try:
                report = await self.broker.produce(
                    target, record.value, key=record.key, headers=headers, producer=self.name
                )
                break
            except BrokerUnavailable as down:
                if attempt == policy.max_attempts:
                    # Cannot park it now: read it again later rather than lose it.
                    trace.record(
                        "failed",
                        self.broker.clock.now(),
                        *where,
                        *kind,
                        f"could not dead-letter ({down}); it will be read again",
                    )
                    await self._seek_back(
                        TopicPartition(record.topic, record.partition), record.offset
                    )
                    self._next[TopicPartition(record.topic, record.partition)] = record.offset
                    self._pending.clear()
                    return False
                await wait(self.broker.clock, policy.delay(attempt, self._rng))
        trace.record("dead_lettered", now, *where, *kind, f"{reason} -> {target}@{report.offset}")
        self.dead_lettered += 1
        return True
