"""Consumers (lessons 01, 02, 08 and 12): a group member that hands each event to its handler,
then commits. The same code runs on any `Broker`.

`Consumer` is a thin front over small parts, each with one job:
- `Inbox` polls, holds what arrived, and checks offsets (repeats skipped, retention gaps noted);
- `Processor` decodes, picks the handler by type, skips what was applied before, runs the
  handler with retries, and hands what cannot be handled to `DeadLetters`;
- a `CommitStrategy` commits after each event, per batch, or before handling;
- `Pipeline` strings them together: next record, process, commit, and when a run ends.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from eda_lib.brokers.base import (
    Broker,
    BrokerError,
    Record,
    StartFrom,
    TopicPartition,
    UnknownMember,
)
from eda_lib.events import Event
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.commits import CommitMode, commit_strategy
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.handlers import Handler, HandlerError, Handlers
from eda_lib.messaging.inbox import Inbox
from eda_lib.messaging.membership import Membership
from eda_lib.messaging.pipeline import Limits, Pipeline, StopReason
from eda_lib.messaging.processing import ConsumerCrash, Outcome, Processor, Unreadable
from eda_lib.resilience import ProcessedEvents, RetryPolicy


class ConsumerNotRunning(BrokerError, RuntimeError):
    """`run` or `events` on a consumer that has not joined its group."""


class ConsumerBusy(BrokerError, RuntimeError):
    """A second run of one consumer while the first is still going."""


@dataclass(frozen=True)
class RunReport:
    """What one `Consumer.run` did, and why it stopped."""

    processed: int
    handled: int
    ignored: int
    dead_lettered: int
    stopped_because: StopReason


_names = itertools.count(1)


class Consumer:
    """A member of consumer group `group` reading `topics`.

    `handlers` is one handler or several; each takes the events its annotation names (see
    `eda_lib.messaging.handlers`). Or leave them out and iterate: `async for event in
    consumer.events(...)`, the loop body being the handler. A record that cannot be read, or
    whose handler keeps failing, goes to `<topic>.dead-letter` with the reason in its headers;
    the consumer carries on. Runs are always bounded: by `max_events`, by `timeout`, or until
    idle. Use it as `async with Consumer(...) as consumer:` to join and always leave.

    `commit`: "each", "batch" or "before" (see `eda_lib.messaging.commits`). `retry` retries
    a failing handler with backoff before dead-lettering; `idempotency` remembers applied event
    ids, so a redelivered event has its effect once; `faults` makes it crash or slow on purpose.
    """

    def __init__(
        self,
        broker: Broker,
        group: str,
        topics: str | Sequence[str],
        handlers: Handler | Sequence[Handler] = (),
        *,
        name: str | None = None,
        start: StartFrom = "earliest",
        batch_size: int = 100,
        poll_timeout: float = 0.05,
        commit: CommitMode = "each",
        retry: RetryPolicy | None = None,
        idempotency: ProcessedEvents | None = None,
        faults: ConsumerFaults | None = None,
    ) -> None:
        if isinstance(handlers, Mapping):
            raise HandlerError(
                "handlers are chosen by their annotation, not by a mapping. Fix: pass the "
                "functions, e.g. [ship, refund], with `def ship(event: PaymentSuccessful)`"
            )
        self.broker = broker
        self.group = group
        self.topics = (topics,) if isinstance(topics, str) else tuple(topics)
        self.name = name or f"{group}-{next(_names)}"
        self.start_from = start
        self.commit = commit
        self.faults = faults
        self.running = False
        self._busy = False
        # The event an `events()` loop has in hand: finished when that loop asks for the next.
        self._in_hand: tuple[_EventStream, Record, Event] | None = None
        membership = Membership(broker, group, self.name)
        inbox = Inbox(membership)
        rng = (retry or RetryPolicy()).rng(f"{group}/{self.name}")
        self._dead_letters = DeadLetters(membership, retry, rng)
        self._processor = Processor(
            membership,
            Handlers([handlers] if callable(handlers) else list(handlers)),
            self._dead_letters,
            retry=retry,
            idempotency=idempotency,
            faults=faults,
            rng=rng,
        )
        self._pipeline = Pipeline(
            inbox,
            commit_strategy(commit, inbox),
            self._processor,
            faults,
            batch_size=batch_size,
            poll_timeout=poll_timeout,
        )

    # --- what it did ----------------------------------------------------------------------

    @property
    def handled(self) -> int:
        return self._processor.handled

    @property
    def ignored(self) -> int:
        return self._processor.ignored

    @property
    def dead_lettered(self) -> int:
        return self._dead_letters.parked

    @property
    def retries(self) -> int:
        return self._processor.retries

    @property
    def duplicates(self) -> int:
        """Repeats skipped: by offset, and (with an idempotency store) by event id."""
        return self._pipeline.inbox.offsets.duplicates + self._processor.repeats

    @property
    def idempotency(self) -> ProcessedEvents | None:
        return self._processor.idempotency

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.stop()

    async def start(self) -> None:
        """Join the group (the group rebalances) and make sure the dead-letter topics exist."""
        await self._dead_letters.ensure_topics(self.topics)
        await self.broker.join(self.group, self.topics, member=self.name, start=self.start_from)
        self._pipeline.inbox.joined()
        self.running = True
        self._pipeline.stopping = False

    def request_stop(self) -> None:
        """Ask a running `run` to end after the event in hand (which it still commits)."""
        self._pipeline.stopping = True

    async def stop(self) -> None:
        """Leave the group. Anything received but not yet handled was not committed, so the
        partition's next owner gets it again: nothing is lost."""
        if self.running:
            self._pipeline.stopping = True
            self._pipeline.inbox.clear()
            self._in_hand = None
            try:
                await self._pipeline.commits.flush()
            finally:  # even if the broker refused the commit: never stay in the group
                await self.broker.leave(self.group, self.name)
                self.running = False

    async def assignment(self) -> tuple[TopicPartition, ...]:
        return await self.broker.assignment(self.group, self.name)

    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read `partition` again from `offset` (a replay), or skip ahead. Use this rather than
        the broker's `seek`, so the consumer expects those offsets instead of treating them
        as repeats."""
        await self.broker.seek(self.group, self.name, partition, offset)
        self._pipeline.inbox.forget(partition)
        self._pipeline.inbox.offsets.expect(partition, offset)

    # --- consuming ------------------------------------------------------------------------

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
        if not self._processor.handlers.registered:
            raise HandlerError(
                f"consumer '{self.name}' has no handlers. Fix: pass some, e.g. "
                "Consumer(broker, group, topic, ship), or iterate `consumer.events()`"
            )
        run = self._plan(max_events, timeout, until_idle)
        p = self._processor
        before = (p.handled, p.ignored, self.dead_lettered)
        with self._exclusive():
            await self._take_back(None)
            reason = await self._loop(run)
            await self._pipeline.commits.flush()
        return RunReport(
            processed=run.processed,
            handled=p.handled - before[0],
            ignored=p.ignored - before[1],
            dead_lettered=self.dead_lettered - before[2],
            stopped_because=reason,
        )

    def events(
        self,
        *,
        max_events: int | None = None,
        timeout: float | None = None,
        until_idle: bool | None = None,
    ) -> AsyncIterator[Event]:
        """The events, one by one, bounded as `run` is; the loop's body is the handler. An event
        counts as handled when the loop asks for the next one, and is then committed as the
        `commit` mode says (at once with "each", at the next poll with "batch"; with "before",
        it was committed on arrival). Leave the loop early, or let it raise, and the event in
        hand is not handled: it comes again, to this consumer's next run or loop, or to the
        partition's next owner ("before" excepted: at most once means it is gone)."""
        return _EventStream(self, self._plan(max_events, timeout, until_idle))

    async def _take_back(self, stream: _EventStream | None) -> None:
        """An `events()` loop other than `stream` left an event unfinished: read it again."""
        if self._in_hand is None or self._in_hand[0] is stream:
            return
        _, record, _ = self._in_hand
        self._in_hand = None
        if not self._pipeline.commits.early:
            await self.seek(TopicPartition(record.topic, record.partition), record.offset)

    def _plan(self, max_events: int | None, timeout: float | None, idle: bool | None) -> Limits:
        if not self.running:
            raise ConsumerNotRunning(
                f"consumer '{self.name}' is not running. Fix: `await consumer.start()`, or "
                "use it as `async with consumer:`"
            )
        return Limits.of(max_events, timeout, idle)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._busy:
            raise ConsumerBusy(
                f"consumer '{self.name}' is already in a run. Fix: await that run first"
            )
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    async def _loop(self, run: Limits) -> StopReason:
        reason = await self._pipeline.run(run)
        if reason == "crashed":
            await self._leave_after_crash()
        return reason

    async def _crash(self, record: Record, why: str) -> None:
        self._pipeline.crashed(record, why)
        self._in_hand = None
        await self._leave_after_crash()

    async def _leave_after_crash(self) -> None:
        if self.running:
            with contextlib.suppress(UnknownMember):  # already out of the group
                await self.broker.leave(self.group, self.name)
            self.running = False


class _EventStream:
    """`Consumer.events()`: the poll loop of `run`, with the caller's loop body as handler."""

    def __init__(self, consumer: Consumer, run: Limits) -> None:
        self.consumer = consumer
        self.run = run
        self.stopped_because: StopReason | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        consumer, pipeline = self.consumer, self.consumer._pipeline
        with consumer._exclusive():
            await consumer._take_back(self)
            if consumer._in_hand is not None:  # the body finished with it: handled
                _, record, event = consumer._in_hand
                consumer._in_hand = None
                pipeline.processor.applied(record, event)
                try:
                    await pipeline.finish(record, event)
                except ConsumerCrash as crash:
                    await consumer._crash(record, str(crash))
                    self.stopped_because = "crashed"
            while self.stopped_because is None:
                found = await pipeline.next(self.run)
                if isinstance(found, str):
                    self.stopped_because = found
                    break
                wanted = await self._event(found)
                if wanted is not None:
                    self.run.processed += 1
                    consumer._in_hand = (self, found, wanted)
                    return wanted
            await pipeline.commits.flush()
            raise StopAsyncIteration

    async def _event(self, record: Record) -> Event | None:
        """The record's event for the loop body; None if it was skipped or parked instead."""
        pipeline, processor = self.consumer._pipeline, self.consumer._processor
        if pipeline.commits.early and not await pipeline.commits.arrived(record):
            return None  # at most once: a record it could not commit is not its to handle
        event = processor.decode(record)
        if isinstance(event, Unreadable):
            if await processor.unreadable(record, event) is Outcome.UNPARKED:
                await pipeline.read_again(record)
                self.stopped_because = "stalled"
                return None
        elif not processor.applied_before(record, event):
            return event
        await pipeline.commits.done(record)
        return None
