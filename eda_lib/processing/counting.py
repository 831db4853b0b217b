"""A windowed count (lesson 14): a stream processor that reads one topic, passes each event
through stateless steps, counts and sums it per key in event-time windows, and publishes each
window's result to another topic when the window closes.

Time is the events' own (event time), not the clock's, and it is kept per partition, as Kafka
Streams keeps "stream time" per task: a partition's watermark is the latest event time read from
it minus the allowed lateness, and a window of that partition closes once its watermark reaches
the window's end. (One watermark for all partitions would let a fast partition close the
windows of a slow one before their events were read.) Counts are kept per partition too: with
keyed input, all of a key's events are on one partition, so each key and window has one result.

An event that arrives out of order still counts while its window is open. One whose windows have
all closed is too late, and goes to the dead-letter topic with the reason; one that is too late
for some of its (sliding) windows counts in the others and is dead-lettered too, naming the
windows it missed, so no count goes missing silently. The same event published again upstream (a
new record with an id already seen, after a producer crashed before committing) counts once: the
processor remembers the last `REMEMBERED_IDS` ids per partition.

Crash and resume, without double counting: the window state is rebuilt from the input, not
saved. The processor commits, per partition, only up to the first offset that an open window
still needs, so after a crash the next run reads those events again and rebuilds the open
windows exactly. A window that closed is never recounted: its result is in the output topic,
and on start the processor reads there, per partition, which windows it closed and how far it
had read, so an event read again for a closed window is skipped as a replay. The price: the
input must keep the events of open windows (its retention must be longer than a window plus the
lateness), and an event dead-lettered as too late may be dead-lettered again after a restart.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Self

from eda_lib.brokers.base import Broker, Record, TopicPartition
from eda_lib.clock import clock_of
from eda_lib.codecs import decode_message
from eda_lib.events import Event, InvalidEvent
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.loop import ConsumerLoop, Limits
from eda_lib.messaging.membership import Membership
from eda_lib.messaging.producer import Producer
from eda_lib.processing.steps import Step, apply
from eda_lib.processing.windows import Sliding, Tumbling, Window, WindowCounted
from eda_lib.trace import trace_of

_IDS = uuid.UUID("5f1a7c3e-6b0d-4c1e-9a7e-0e5d2c4b8a91")  # namespace of result ids


@dataclass
class _Tally:
    first: int  # the offset of the window's first event: commits stay at or below it
    count: int = 0
    total: int = 0


REMEMBERED_IDS = 10_000
"""Per partition, how many event ids a processor remembers to skip a repeat: the same event
published again upstream (after a crash before a commit) comes as a new record soon after."""


class _RecentIds:
    """At least the last `limit` ids seen (at most twice as many), for a quick "seen it?": two
    generations of a set, the older dropped whole when the newer fills, so nothing is kept in
    order one id at a time. Ids are kept as ints, which hash fast."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._newer: set[int] = set()
        self._older: set[int] = set()

    def repeat(self, event_id: uuid.UUID) -> bool:
        """Whether `event_id` came before; remembers it if not."""
        number = event_id.int
        if number in self._newer or number in self._older:
            return True
        self._newer.add(number)
        if len(self._newer) >= self.limit:
            self._older, self._newer = self._newer, set()
        return False


@dataclass
class _PartitionClock:
    """One source partition's event time and what of it is closed."""

    latest: datetime | None = None  # the latest event time read from the partition
    closed_through: datetime | None = None  # its windows ending here or before are closed...
    closed_last: set[str] = field(default_factory=set)  # ...for these keys, if ending just here
    read_before: int = 0  # offsets below this were read before a restart
    seen: _RecentIds = field(default_factory=lambda: _RecentIds(REMEMBERED_IDS))

    def watermark(self, lateness: timedelta) -> datetime:
        return datetime.min.replace(tzinfo=UTC) if self.latest is None else self.latest - lateness

    def is_open(self, key: str, window: Window, lateness: timedelta) -> bool:
        if self.latest is not None and window.end <= self.latest - lateness:
            return False
        closed = self.closed_through
        if closed is None or window.end > closed:
            return True
        return window.end == closed and key not in self.closed_last

    def closed(self, key: str, end: datetime) -> None:
        if self.closed_through is None or end > self.closed_through:
            self.closed_through, self.closed_last = end, {key}
        elif end == self.closed_through:
            self.closed_last.add(key)


@dataclass
class ProcessorReport:
    """What one run did with the events it read."""

    read: int = 0
    counted: int = 0
    late: int = 0  # out of order, but their window was still open: counted
    too_late: int = 0  # every window of theirs had closed: dead-lettered
    dropped: int = 0  # a step dropped them
    unreadable: int = 0  # not an event: dead-lettered
    replayed: int = 0  # read again after a restart, their windows already published
    repeats: int = 0  # the same event (same id) in a new record: counted once
    emitted: int = 0
    stopped_because: str = ""


class WindowedCount:
    """Counts (and sums `value`) per `key` per window, from `source` to `sink`, as consumer
    group `group`. Use it as `async with WindowedCount(...) as processor:` and call `run`."""

    def __init__(
        self,
        broker: Broker,
        *,
        source: str,
        sink: str,
        group: str,
        window: Tumbling | Sliding,
        key: Callable[[Event], str],
        value: Callable[[Event], int] | None = None,
        steps: Sequence[Step] = (),
        allowed_lateness: timedelta = timedelta(0),
        event_time: Callable[[Event], datetime] | None = None,
        batch_size: int = 500,
        poll_timeout: float = 0.05,
        name: str | None = None,
    ) -> None:
        if allowed_lateness < timedelta(0):
            raise ValueError(f"allowed_lateness must be 0 or more, not {allowed_lateness}")
        self.broker, self.source, self.sink, self.group = broker, source, sink, group
        self.window, self.key, self.value = window, key, value
        self.steps = tuple(steps)
        self.lateness = allowed_lateness
        self.event_time = event_time or (lambda event: event.time)
        self.batch_size, self.poll_timeout = batch_size, poll_timeout
        self.name = name or f"{group}-processor"
        self._member = Membership(broker, group, self.name, trace_of(broker), clock_of(broker))
        self._dead_letters = DeadLetters(self._member, None, random.Random(0))
        # The loop hands out the records; this processor commits them itself (see `_commit`).
        self._loop = ConsumerLoop(
            self._member, commit=None, batch_size=batch_size, poll_timeout=poll_timeout
        )
        self.open: dict[tuple[int, str, Window], _Tally] = {}  # (partition, key, window)
        self.clocks: dict[int, _PartitionClock] = {}  # event time, per source partition
        self.results: list[WindowCounted] = []
        self._next: dict[TopicPartition, int] = {}
        self._windows: dict[datetime, tuple[Window, ...]] = {}  # each moment's, worked out once
        self.running = False

    @property
    def latest(self) -> datetime | None:
        """The latest event time read from any partition."""
        return max((c.latest for c in self.clocks.values() if c.latest), default=None)

    @property
    def watermark(self) -> datetime | None:
        """The lowest of the partitions' watermarks: every window ending by then is closed."""
        marks = [c.latest - self.lateness for c in self.clocks.values() if c.latest]
        return min(marks, default=None)

    def _clock(self, partition: int) -> _PartitionClock:
        clock = self.clocks.get(partition)
        if clock is None:
            clock = self.clocks[partition] = _PartitionClock()
        return clock

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Forget what is not yet published (it is read again), find how far this processor's
        results go, then join the group."""
        self.open.clear()
        self.clocks.clear()
        self._next.clear()
        await self._dead_letters.ensure_topics([self.source])
        await self._restore_closed()
        # A new processor reads its source from the oldest record: its counts must cover all.
        await self.broker.join(self.group, [self.source], member=self.name, start="earliest")
        self._loop.clear()
        self.running = True

    async def stop(self) -> None:
        if self.running:
            self.running = False
            await self.broker.leave(self.group, self.name)

    async def crash(self) -> None:
        """Die here, as a killed process does: leave without committing anything more."""
        self.running = False
        await self.broker.leave(self.group, self.name)

    async def run(
        self, *, max_events: int | None = None, timeout: float | None = None
    ) -> ProcessorReport:
        """Process until `max_events` were read, `timeout` seconds passed, or the source is
        idle; after each polled batch, closed windows are published, then offsets are
        committed as far as the open windows allow."""
        report = ProcessorReport()
        if not self.running:
            return report
        limits = Limits.of(max_events, timeout, None)
        while (record := await self._loop.next(limits)) is not None:
            await self._take(record, report)
            limits.processed += 1
            if not self._loop.pending:  # the end of a polled batch
                await self._publish_closed(report)
                await self._commit()
        report.stopped_because = self._loop.stopped_because or "stopped"
        return report

    async def _take(self, record: Record, report: ProcessorReport) -> None:
        report.read += 1
        self._next[TopicPartition(record.topic, record.partition)] = record.offset + 1
        try:
            event = decode_message(record.value, record.headers)
        except InvalidEvent as error:
            report.unreadable += 1
            await self._dead_letters.park(record, error.problem, str(error))
            return
        clock = self.clocks.get(record.partition) or self._clock(record.partition)
        if clock.seen.repeat(event.id):
            report.repeats += 1
            self._member.hop("ignored", record, event, "a repeat of an event already counted")
            return
        kept = apply(self.steps, event) if self.steps else event
        if kept is None:
            report.dropped += 1
            self._member.hop("ignored", record, event, "dropped by a step")
            return
        moment = self.event_time(kept)
        key = self.key(kept)
        windows = self._windows.get(moment)
        if windows is None:
            if len(self._windows) > 4096:  # events come in time order, near enough: keep it small
                self._windows.clear()
            windows = self._windows[moment] = self.window.windows(moment)
        if clock.latest is None and clock.closed_through is None:
            still_open = list(windows)  # nothing has closed yet on this partition
        else:
            still_open = [w for w in windows if clock.is_open(key, w, self.lateness)]
        if len(still_open) < len(windows):
            if record.offset < clock.read_before:
                report.replayed += 1  # read before the restart, and counted then
                if not still_open:
                    return
            else:
                missed = ", ".join(str(w) for w in windows if w not in still_open)
                mark = clock.watermark(self.lateness)
                why = (
                    f"event time {moment:%H:%M:%S}: window {missed} closed "
                    f"(the partition's watermark is {mark:%H:%M:%S})"
                )
                report.too_late += 1
                await self._dead_letters.park(record, "too_late", why, kept)
                if not still_open:
                    return
        if clock.latest is not None and moment < clock.latest:
            report.late += 1
        amount = 1 if self.value is None else self.value(kept)
        for window in still_open:
            tally = self.open.get((record.partition, key, window))
            if tally is None:
                tally = self.open[record.partition, key, window] = _Tally(first=record.offset)
            tally.count += 1
            tally.total += amount
        clock.latest = moment if clock.latest is None else max(clock.latest, moment)
        report.counted += 1
        self._member.hop("handled", record, kept)

    async def _publish_closed(self, report: ProcessorReport) -> None:
        marks = {number: clock.watermark(self.lateness) for number, clock in self.clocks.items()}
        closing = sorted(
            (w.end, partition, key, w)
            for partition, key, w in self.open
            if w.end <= marks[partition]
        )
        if not closing:
            return
        results = [self._result(partition, key, window) for _, partition, key, window in closing]
        await Producer(self.broker, self.name).send_all(self.sink, results)
        for _, partition, key, window in closing:
            del self.open[partition, key, window]
            self._clock(partition).closed(key, window.end)
        self.results.extend(results)
        report.emitted += len(results)

    def _result(self, partition: int, key: str, window: Window) -> WindowCounted:
        tally = self.open[partition, key, window]
        where = (
            f"{self.group}|{partition}|{key}|{window.start.isoformat()}|{window.end.isoformat()}"
        )
        source = TopicPartition(self.source, partition)
        return WindowCounted(
            id=uuid.uuid5(_IDS, where),
            time=window.end,
            processor=self.group,
            counted_key=key,
            window_start=window.start,
            window_end=window.end,
            count=tally.count,
            total=tally.total,
            source_partition=partition,
            read_through=self._next.get(source, 0),
        )

    async def _commit(self) -> None:
        offsets = dict(self._next)
        for (partition, _, _), tally in self.open.items():
            tp = TopicPartition(self.source, partition)
            offsets[tp] = min(offsets.get(tp, tally.first), tally.first)
        if offsets:
            await self.broker.commit(self.group, self.name, offsets)

    async def _restore_closed(self) -> None:
        """Per partition, which windows this processor closed and how far it had read, from the
        results it published (every one of them, read in pages)."""
        if self.sink not in await self.broker.topics():
            return
        for partition in range((await self.broker.topics())[self.sink]):
            start = 0
            while True:  # bounded: each page moves on, and the topic has an end
                page = await self.broker.read(self.sink, partition, start=start, limit=5_000)
                if not page:
                    break
                for record in page:
                    result = decode_message(record.value, record.headers)
                    if isinstance(result, WindowCounted) and result.processor == self.group:
                        clock = self._clock(result.source_partition)
                        clock.closed(result.counted_key, result.window_end)
                        clock.read_before = max(clock.read_before, result.read_through)
                start = page[-1].offset + 1
