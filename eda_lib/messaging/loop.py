"""The consumer loop (lessons 01, 02, 08, 12 and 14): poll, hand out one record at a time,
process it, commit.

`ConsumerLoop` is where every way of consuming takes its records from: `Consumer.run`, the
`async for` of `Consumer.events()`, and lesson 14's `WindowedCount`. So there is one rule for
when a run ends (`Limits`) and one place where offsets are committed (`arrived`, `done` and
`flush`, as the commit mode says):

- "each" commits a record once it was handled: a crash repeats at most the record in hand;
- "batch" commits once per poll, before polling again: fewer round trips to a real broker, but
  a crash repeats up to a batch;
- "before" commits a record as it arrives, before it is handled: at most once, so a crash while
  it is handled loses it.

Offsets also make repeats and holes visible: a partition's records come one after another, so a
record seen before is skipped (a 'duplicate' hop), and offsets that never come were deleted by
retention before this member read them (it notes a 'gap' and moves on).

`Processor` is one record's way in between: decode it, pick its handler by the event's class,
skip it if its effect was applied already, run the handler (again, with backoff, if it fails),
and dead-letter what cannot be handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import random
from collections import deque
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from eda_lib.brokers.base import CommitFailed, Record, TopicPartition, UnknownMember
from eda_lib.codecs import Codec, tombstone
from eda_lib.events import Event, InvalidEvent
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.handlers import Handler, Handlers
from eda_lib.messaging.membership import Membership
from eda_lib.resilience import ProcessedEvents, RetryPolicy, wait

StopReason = Literal["max_events", "idle", "timeout", "stopped", "crashed", "stalled"]
CommitMode = Literal["each", "batch", "before"]
COMMIT_MODES = ("each", "batch", "before")

IDLE_POLLS = 20
"""Polls in a row that bring nothing before a run that waits to be idle calls the topic idle
although the member is not caught up: a broker that keeps losing fetch responses, or one that
has not answered yet (on Kafka, with the default `poll_timeout`, about a second)."""

GIVE_UP_AFTER = 30.0
"""Seconds after which a run without a timeout stops anyway, with the reason 'timeout'."""


@dataclass
class Limits:
    """Where one run ends: after `max_events`, at `deadline` (loop time, if the run has a
    timeout), or when idle: a poll that brought nothing found the member at the end of every
    partition it owns (or `IDLE_POLLS` polls in a row brought nothing). A run without a timeout
    stops polling at `give_up_at` anyway."""

    max_events: int | None
    deadline: float | None
    give_up_at: float
    until_idle: bool
    processed: int = 0
    empty_polls: int = 0  # polls in a row that brought nothing

    @classmethod
    def of(cls, max_events: int | None, timeout: float | None, idle: bool | None) -> Limits:
        until_idle = timeout is None if idle is None else idle
        if not until_idle and timeout is None and max_events is None:
            raise ValueError("this run would never end: give max_events, timeout or until_idle")
        now = asyncio.get_running_loop().time()
        deadline = None if timeout is None else now + timeout
        give_up_at = now + GIVE_UP_AFTER if deadline is None else deadline
        return cls(max_events, deadline, give_up_at, until_idle)

    def reached(self) -> StopReason | None:
        """Why the run ends before its next record, if it does."""
        if self.max_events is not None and self.processed >= self.max_events:
            return "max_events"
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            return "timeout"
        return None


class ConsumerLoop:
    """One member's records: polled in batches, checked by offset, handed out one at a time."""

    def __init__(
        self,
        member: Membership,
        *,
        commit: CommitMode | None,
        batch_size: int,
        poll_timeout: float,
        faults: ConsumerFaults | None = None,
    ) -> None:
        """`commit=None`: the loop commits nothing, its owner commits (lesson 14's windows).
        `faults` may crash the consumer on either side of a commit (lesson 12)."""
        if commit is not None and commit not in COMMIT_MODES:
            raise ValueError(f"commit must be 'each', 'batch' or 'before', not {commit!r}")
        self.member = member
        self.commit = commit
        self.faults = faults
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.pending: deque[Record] = deque()  # polled, not yet handed out
        self.generation = -1  # the group's generation when what is pending was polled
        self.caught_up = False  # the last poll found the member at the end of its partitions
        self.expected: dict[tuple[str, int], int] = {}  # the next offset, per partition
        self.duplicates = 0
        self.waiting: dict[TopicPartition, tuple[int, int]] = {}  # "batch": offset, generation
        self.stopping = False
        self.stopped_because: StopReason | None = None

    async def next(self, limits: Limits) -> Record | None:
        """The next record, or None when the run ends (`stopped_because` says why)."""
        while True:
            reason = "stopped" if self.stopping else limits.reached()
            if reason is None and self.pending:
                return self.pending.popleft()
            if reason is None:
                reason = await self._poll(limits)
            if reason is not None:
                self.stopped_because = reason
                return None

    async def _poll(self, limits: Limits) -> StopReason | None:
        """Commit what waits, then poll once; why the run ends, if it does."""
        await self.flush()
        m = self.member
        room = self.batch_size
        if limits.max_events is not None:
            room = min(room, limits.max_events - limits.processed)
        left = limits.give_up_at - asyncio.get_running_loop().time()
        if left <= 0:
            return "timeout"
        seconds = 0.0 if limits.until_idle and self.caught_up else min(self.poll_timeout, left)
        try:
            batch = await m.broker.poll(m.group, m.name, max_records=room, timeout=seconds)
        except UnknownMember:  # stop() was called while this poll waited
            return "stopped"
        if self.stopping:  # stop() was called while this poll waited, and it came back empty
            return "stopped"
        if batch.generation != self.generation:  # a new assignment: new starting points
            self.expected.clear()
            self.generation = batch.generation
        self.pending.extend(self._in_order(batch.records))
        self.caught_up = batch.caught_up
        limits.empty_polls = 0 if batch.records else limits.empty_polls + 1
        if limits.until_idle and limits.empty_polls and (
            batch.caught_up or limits.empty_polls >= IDLE_POLLS
        ):
            return "idle"
        return None

    def _in_order(self, records: list[Record]) -> list[Record]:
        """The records that come next in their partitions: a repeat is skipped; a hole (offsets
        that retention deleted before they were read) is noted, then read past."""
        kept = []
        for record in records:
            tp = (record.topic, record.partition)  # equal to its TopicPartition, as a key
            expected = self.expected.get(tp, record.offset)
            if record.offset < expected:
                self.member.hop("duplicate", record, detail="this offset came before: skipped")
                self.duplicates += 1
                continue
            if record.offset > expected:
                self.member.hop(
                    "gap",
                    record,
                    detail=f"offsets {expected}..{record.offset - 1} were deleted by retention "
                    "or compaction before this member read them: moving on",
                )
            self.expected[tp] = record.offset + 1
            kept.append(record)
        return kept

    # --- committing -----------------------------------------------------------------------

    @property
    def commits_first(self) -> bool:
        """At most once ("before"): `arrived` commits a record before it is handled."""
        return self.commit == "before"

    async def arrived(self, record: Record) -> bool:
        """With "before" (`commits_first`), commit a record about to be handled; False if it is
        no longer this member's to handle (its partition moved away while it waited)."""
        return await self._commit(record) if self.commits_first else True

    async def done(self, record: Record) -> bool:
        """A record was handled, skipped or dead-lettered; False if its commit was refused."""
        if self.commit == "each":
            return await self._commit(record)
        if self.commit == "batch":
            tp = TopicPartition(record.topic, record.partition)
            self.waiting[tp] = (record.offset + 1, self.generation)
        return True

    async def finish(self, record: Record, event: Event) -> None:
        """`done` after an event's handler ran, crashing on either side if the faults say so."""
        faults = self.faults
        if faults is not None and faults.crash_before_commit and faults.crash_before_commit(event):
            raise ConsumerCrash("crashed after handling, before committing")
        await self.done(record)
        if faults is not None and faults.crash_after_commit and faults.crash_after_commit(event):
            await self.flush()  # "after committing" means committed, in batch mode too
            raise ConsumerCrash("crashed right after committing")

    async def flush(self) -> None:
        """Commit what waits ("batch"): before polling again, and when the consumer stops."""
        waiting, self.waiting = self.waiting, {}
        m = self.member
        for tp, (offset, generation) in waiting.items():
            # One partition at a time: one that changed hands is refused alone, and its records
            # are delivered again by its new owner; nothing is lost.
            with contextlib.suppress(CommitFailed, UnknownMember):
                await m.broker.commit(m.group, m.name, {tp: offset}, generation=generation)

    async def _commit(self, record: Record) -> bool:
        """Commit past `record`; False if the group refused, because the partition is no longer
        this member's (the next owner starts from the last commit, and gets the record)."""
        m = self.member
        tp = TopicPartition(record.topic, record.partition)
        offsets = {tp: record.offset + 1}
        try:
            await m.broker.commit(m.group, m.name, offsets, generation=self.generation)
        except UnknownMember:  # stopped meanwhile: the next owner gets this record again
            self.pending.clear()
            return False
        except CommitFailed:  # the partition moved: drop what is still held from it
            self.forget(tp)
            return False
        return True

    # --- forgetting -----------------------------------------------------------------------

    async def read_again(self, record: Record) -> None:
        """Read `record` (and what follows it in its partition) again at the next poll."""
        tp = TopicPartition(record.topic, record.partition)
        await self.member.broker.seek(self.member.group, self.member.name, tp, record.offset)
        self.forget(tp)
        self.expected[tp] = record.offset

    def forget(self, partition: TopicPartition) -> None:
        """Drop what is held from `partition` (it moved away, or is read again from elsewhere)."""
        self.pending = deque(r for r in self.pending if (r.topic, r.partition) != partition)

    def clear(self) -> None:
        """Forget everything held, and every partition's next offset (after a crash, a stop)."""
        self.pending.clear()
        self.expected.clear()
        self.waiting.clear()


# --- one record's way -----------------------------------------------------------------------


class ConsumerCrash(Exception):
    """Raise from a handler given to `Consumer.run` to simulate the consumer process dying at
    that point: it leaves its group at once, commits nothing more, and `run` returns with
    `stopped_because="crashed"`. (Raised in the body of an `events()` loop, it simply ends the
    loop, as any exception does: leave the group with `stop()` or the `async with` block.)"""


class Outcome(enum.Enum):
    HANDLED = "handled"  # the handler ran to the end
    GAVE_UP = "gave up"  # the handler kept failing: the event was dead-lettered
    SKIPPED = "skipped"  # unreadable (dead-lettered), no handler for it, or applied before
    UNPARKED = "unparked"  # it should be dead-lettered, but the broker would not take it


class Unreadable(NamedTuple):
    reason: str  # an InvalidEvent problem code, or 'undecodable' for a codec bug
    error: str

    @classmethod
    def because(cls, error: Exception) -> Unreadable:
        if isinstance(error, InvalidEvent):
            return cls(error.problem, str(error))
        return cls("undecodable", f"{type(error).__name__}: {error}")


class RecordWatcher(Protocol):
    """Told when a record's processing starts, and how it ended (`result` is None if the
    consumer crashed meanwhile): lesson 06's tracing. Set `consumer.processor.watcher`;
    `eda_lib.tracing.Telemetry.watch` does."""

    def started(self, record: Record) -> None: ...

    def finished(self, record: Record, result: tuple[Outcome, Event | None] | None) -> None: ...


class Processor:
    def __init__(
        self,
        member: Membership,
        codec: Codec,
        handlers: Handlers,
        dead_letters: DeadLetters,
        *,
        retry: RetryPolicy | None,
        idempotency: ProcessedEvents | None,
        faults: ConsumerFaults | None,
        rng: random.Random,
    ) -> None:
        self.member = member
        self.codec = codec
        self.handlers = handlers
        self.dead_letters = dead_letters
        self.retry = retry
        self.idempotency = idempotency
        self.faults = faults
        self.rng = rng
        self.handled = 0
        self.ignored = 0
        self.retries = 0
        self.repeats = 0  # events an idempotent consumer had applied already
        self.watcher: RecordWatcher | None = None

    async def process(self, record: Record) -> tuple[Outcome, Event | None]:
        """Decode the record and run its handler; the outcome, and the event if it was read.
        A watcher is told before and after, the handler's run in between."""
        if self.watcher is None:
            return await self._process(record)
        self.watcher.started(record)
        result = None
        try:
            result = await self._process(record)
            return result
        finally:  # a crash too: the watcher must not be left with a record in hand
            self.watcher.finished(record, result)

    async def _process(self, record: Record) -> tuple[Outcome, Event | None]:
        event = self.decode(record)
        if isinstance(event, Unreadable):
            return await self.unreadable(record, event), None
        handler = self.handlers[type(event)]
        if handler is None:
            self.member.hop("ignored", record, event, "no handler for this type")
            self.ignored += 1
            return Outcome.SKIPPED, event
        if self.idempotency is not None and self.applied_before(record, event):
            return Outcome.SKIPPED, event
        if self.faults is not None and self.faults.slow:
            await wait(self.member.clock, self.faults.slow)
        return await self.run_handler(handler, record, event), event

    def decode(self, record: Record) -> Event | Unreadable:
        """The record's event, or why it cannot be read."""
        if record.value is None:
            return Unreadable.because(tombstone())
        try:
            return self.codec.decode(record.value, record.headers, read_as=self.handlers.read_as)
        except Exception as error:  # a codec bug must not stop the consumer either
            return Unreadable.because(error)

    async def unreadable(self, record: Record, why: Unreadable) -> Outcome:
        """Park a record that cannot be read; UNPARKED if the broker would not take it. A
        tombstone is not broken: it deletes its key on a compacted topic and holds no event for
        a handler, so it is counted as ignored (and traced), not parked."""
        if why.reason == "tombstone":
            self.member.hop("ignored", record, None, "a tombstone (null value): no event")
            self.ignored += 1
            return Outcome.SKIPPED
        parked = await self.dead_letters.park(record, why.reason, why.error)
        return Outcome.SKIPPED if parked else Outcome.UNPARKED

    def applied_before(self, record: Record, event: Event) -> bool:
        """With an idempotency store: was this event's effect applied by this group already?"""
        if self.idempotency is None or not self.idempotency.seen(self.member.group, event.id):
            return False
        self.member.hop("duplicate", record, event, "already applied: skipped")
        self.repeats += 1
        return True

    def applied(self, record: Record, event: Event) -> None:
        """The event's handler finished: remember it (with an idempotency store), count it."""
        if self.idempotency is not None:
            self.idempotency.add(self.member.group, event.id)
        self.member.hop("handled", record, event)
        self.handled += 1

    async def run_handler(self, handler: Handler, record: Record, event: Event) -> Outcome:
        """Run the handler; if it fails, again with backoff while the policy allows, then park
        the record with the last error."""
        attempts = 1
        while True:
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):  # an async handler
                    await result
            except ConsumerCrash:
                raise
            except Exception as error:  # a handler bug must not stop the consumer
                problem = f"{type(error).__name__}: {error}"
                if self.retry is None or attempts >= self.retry.max_attempts:
                    parked = await self.dead_letters.park(
                        record, "handler_error", problem, event, attempts
                    )
                    return Outcome.GAVE_UP if parked else Outcome.UNPARKED
                delay = self.retry.delay(attempts, self.rng)
                detail = f"attempt {attempts} failed ({problem}); next in {delay:.2f} s"
                self.member.hop("retried", record, event, detail)
                self.retries += 1
                await wait(self.member.clock, delay)
                attempts += 1
            else:
                self.applied(record, event)
                return Outcome.HANDLED
