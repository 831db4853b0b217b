"""Consumers (lessons 01, 02, 08 and 12): a group member that hands each event to its handler,
then commits. The same code runs on any `Broker`; on the teaching core's `CoreBroker` too, for
what that broker has (not `seek`, so not a loop left with an event in hand).

`Consumer` is a thin front over three parts, each with one job:
- `loop` (a `ConsumerLoop`): polls, hands out one record at a time in offset order, commits as
  the commit mode says, and knows when a run ends;
- `processor` (a `Processor`): decodes a record, picks the handler by the event's class, skips
  what was applied before, runs the handler with retries, and parks what cannot be handled in
  the dead-letter topic;
- `events()` (an `EventStream`): the same loop, with the body of an `async for` as the handler.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from eda_lib.brokers.base import (
    BrokerError,
    Consuming,
    Record,
    StartFrom,
    TopicPartition,
    UnknownMember,
)
from eda_lib.clock import clock_of
from eda_lib.codecs import Codec, StructuredJson
from eda_lib.events import Event
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.handlers import Handler, HandlerError, Handlers
from eda_lib.messaging.loop import (
    CommitMode,
    ConsumerCrash,
    ConsumerLoop,
    Limits,
    Outcome,
    Processor,
    StopReason,
    Unreadable,
)
from eda_lib.messaging.membership import Membership
from eda_lib.resilience import ProcessedEvents, RetryPolicy
from eda_lib.trace import trace_of


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

    `start` (Kafka's `auto.offset.reset`; required, as clients default to "latest" and the
    course sets "earliest"): where a group starts on a partition it never committed.
    `commit`: "each", "batch" or "before" (see `eda_lib.messaging.loop`). `retry` retries a
    failing handler with backoff before dead-lettering; `idempotency` remembers applied event
    ids, so a redelivered event has its effect once; `faults` makes it crash or slow on purpose.
    `codec` reads the records (by default CloudEvents, in either mode).
    """

    def __init__(
        self,
        broker: Consuming,
        group: str,
        topics: str | Sequence[str],
        handlers: Handler | Sequence[Handler] = (),
        *,
        name: str | None = None,
        start: StartFrom,
        batch_size: int = 100,
        poll_timeout: float = 0.05,
        commit: CommitMode = "each",
        retry: RetryPolicy | None = None,
        idempotency: ProcessedEvents | None = None,
        faults: ConsumerFaults | None = None,
        codec: Codec | None = None,
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
        self.in_hand: tuple[EventStream, Record, Event] | None = None
        member = Membership(broker, group, self.name, trace_of(broker), clock_of(broker))
        self.member = member
        self.loop = ConsumerLoop(
            member, commit=commit, batch_size=batch_size, poll_timeout=poll_timeout, faults=faults
        )
        rng = (retry or RetryPolicy()).rng(f"{group}/{self.name}")
        self.dead_letters = DeadLetters(member, retry, rng)
        self.processor = Processor(
            member,
            codec or StructuredJson(),
            Handlers([handlers] if callable(handlers) else list(handlers)),
            self.dead_letters,
            retry=retry,
            idempotency=idempotency,
            faults=faults,
            rng=rng,
        )

    @property
    def handled(self) -> int:  # what it did: handled, ignored, parked, retried, skipped
        return self.processor.handled

    @property
    def ignored(self) -> int:
        return self.processor.ignored

    @property
    def dead_lettered(self) -> int:
        return self.dead_letters.parked

    @property
    def retries(self) -> int:
        return self.processor.retries

    @property
    def duplicates(self) -> int:
        """Repeats skipped: by offset, and (with an idempotency store) by event id."""
        return self.loop.duplicates + self.processor.repeats

    @property
    def idempotency(self) -> ProcessedEvents | None:
        return self.processor.idempotency

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.stop()

    async def start(self) -> None:
        """Join the group (the group rebalances) and make sure the dead-letter topics exist."""
        await self.dead_letters.ensure_topics(self.topics)
        await self.broker.join(self.group, self.topics, member=self.name, start=self.start_from)
        self.loop.clear()
        self.running = True
        self.loop.stopping = False

    def request_stop(self) -> None:
        """Ask a running `run` to end after the event in hand (which it still commits)."""
        self.loop.stopping = True

    async def stop(self) -> None:
        """Leave the group. Anything received but not yet handled was not committed, so the
        partition's next owner gets it again: nothing is lost."""
        if self.running:
            self.loop.stopping = True
            self.loop.pending.clear()
            self.in_hand = None
            try:
                await self.loop.flush()
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
        self.loop.forget(partition)
        self.loop.expected[partition] = offset

    # --- consuming ------------------------------------------------------------------------

    async def run(
        self,
        *,
        max_events: int | None = None,
        timeout: float | None = None,
        until_idle: bool | None = None,
    ) -> RunReport:
        """Consume until `max_events` are processed, `timeout` seconds pass, or the topic is
        idle: a poll finds nothing new and the member at the end of every partition it owns.
        Without a timeout a run stops when idle; with one, it waits for new events until then."""
        if not self.processor.handlers.registered:
            raise HandlerError(
                f"consumer '{self.name}' has no handlers. Fix: pass some, e.g. "
                "Consumer(broker, group, topic, ship), or iterate `consumer.events()`"
            )
        limits = self.limits(max_events, timeout, until_idle)
        p = self.processor
        before = (p.handled, p.ignored, self.dead_lettered)
        with self.busy():
            await self.take_back(None)
            reason = await self._handle_each(limits)
            await self.loop.flush()
        return RunReport(
            processed=limits.processed,
            handled=p.handled - before[0],
            ignored=p.ignored - before[1],
            dead_lettered=self.dead_lettered - before[2],
            stopped_because=reason,
        )

    async def _handle_each(self, limits: Limits) -> StopReason:
        """Process records until the run ends."""
        while (record := await self.loop.next(limits)) is not None:
            if self.loop.commits_first and not await self.loop.arrived(record):
                continue  # at most once: a record it could not commit is not its to handle
            try:
                outcome, event = await self.processor.process(record)
                if outcome is Outcome.UNPARKED:  # not handled, and not parked: read it again
                    await self.loop.read_again(record)
                    return "stalled"
                if event is not None and outcome in (Outcome.HANDLED, Outcome.GAVE_UP):
                    await self.loop.finish(record, event)
                else:
                    await self.loop.done(record)
            except ConsumerCrash as crash:
                await self.crash(record, str(crash))
                return "crashed"
            limits.processed += 1
        return self.loop.stopped_because or "stopped"

    def events(
        self,
        *,
        max_events: int | None = None,
        timeout: float | None = None,
        until_idle: bool | None = None,
    ) -> EventStream:
        """The events, one by one, bounded as `run` is; the loop's body is the handler. An event
        counts as handled when the loop asks for the next one, and is then committed as the
        `commit` mode says (at once with "each", at the next poll with "batch"; with "before",
        it was committed on arrival). Leave the loop early, or let it raise, and the event in
        hand is not handled: it comes again, to this consumer's next run or loop, or to the
        partition's next owner ("before" excepted: at most once means it is gone)."""
        return EventStream(self, self.limits(max_events, timeout, until_idle))

    # --- the parts `run` and `events()` share ---------------------------------------------

    def limits(self, max_events: int | None, timeout: float | None, idle: bool | None) -> Limits:
        if not self.running:
            raise ConsumerNotRunning(
                f"consumer '{self.name}' is not running. Fix: `await consumer.start()`, or "
                "use it as `async with consumer:`"
            )
        return Limits.of(max_events, timeout, idle)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """One run (or one step of an `events()` loop) at a time."""
        if self._busy:
            raise ConsumerBusy(
                f"consumer '{self.name}' is already in a run. Fix: await that run first"
            )
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    async def take_back(self, stream: EventStream | None) -> None:
        """An `events()` loop other than `stream` left an event unfinished: read it again."""
        if self.in_hand is None or self.in_hand[0] is stream:
            return
        record, self.in_hand = self.in_hand[1], None
        tp = TopicPartition(record.topic, record.partition)
        if tp not in await self.assignment():
            self.loop.forget(tp)  # it moved: its new owner reads it from the last commit
        elif self.commit != "before":
            await self.seek(tp, record.offset)

    async def crash(self, record: Record, why: str) -> None:
        """The process died at `record`: what it held and had not committed dies with it, and
        it leaves its group at once."""
        self.loop.clear()
        self.in_hand = None
        self.member.hop("crashed", record, detail=why or "the consumer crashed")
        if self.running:
            with contextlib.suppress(UnknownMember):  # already out of the group
                await self.broker.leave(self.group, self.name)
            self.running = False


class EventStream:
    """`Consumer.events()`: the consumer's loop, with the caller's loop body as the handler."""

    def __init__(self, consumer: Consumer, limits: Limits) -> None:
        self.consumer = consumer
        self.limits = limits
        self.stopped_because: StopReason | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        consumer = self.consumer
        with consumer.busy():
            await consumer.take_back(self)
            if consumer.in_hand is not None:  # the body finished with it: handled
                _, record, event = consumer.in_hand
                consumer.in_hand = None
                consumer.processor.applied(record, event)
                try:
                    await consumer.loop.finish(record, event)
                except ConsumerCrash as crash:
                    await consumer.crash(record, str(crash))
                    self.stopped_because = "crashed"
            while self.stopped_because is None:
                polled = await consumer.loop.next(self.limits)
                if polled is None:
                    self.stopped_because = consumer.loop.stopped_because or "stopped"
                    break
                wanted = await self._event(polled)
                if wanted is not None:
                    self.limits.processed += 1
                    consumer.in_hand = (self, polled, wanted)
                    return wanted
            await consumer.loop.flush()
            raise StopAsyncIteration

    async def _event(self, record: Record) -> Event | None:
        """The record's event for the loop body; None if it was skipped or parked instead."""
        loop, processor = self.consumer.loop, self.consumer.processor
        if loop.commits_first and not await loop.arrived(record):
            return None  # at most once: a record it could not commit is not its to handle
        event = processor.decode(record)
        if isinstance(event, Unreadable):
            if await processor.unreadable(record, event) is Outcome.UNPARKED:
                await loop.read_again(record)
                self.stopped_because = "stalled"
                return None
        elif not processor.applied_before(record, event):
            return event
        await loop.done(record)
        return None
