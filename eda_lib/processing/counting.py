"""A windowed count (lesson 14): a stream processor that reads one topic, passes each event
through stateless steps, counts and sums it per key in event-time windows, and publishes each
window's result to another topic when the window closes.

Time is the events' own (event time), not the clock's. The watermark is the latest event time
seen minus the allowed lateness: a window closes once the watermark reaches its end. An event
that arrives out of order still counts while its window is open; one whose windows have all
closed is too late, and goes to the dead-letter topic with the reason.

Crash and resume, without double counting: the window state is rebuilt from the input, not
saved. The processor commits, per partition, only up to the first offset that an open window
still needs, so after a crash the next run reads those events again and rebuilds the open
windows exactly. A window that closed is never recounted: its result is in the output topic,
and on start the processor reads there which windows it closed and how far it had read, so an
event read again for a closed window is skipped as a replay, and a new event for one is too
late. Results are published before offsets are committed, and each says how far the input was
read: after a crash between the two, those events are replays. Each result's id is made from
the processor, the key and the window, so a result published twice is recognisably the same.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self

from eda_lib.brokers.base import Broker, Record, TopicPartition
from eda_lib.events import Event, InvalidEvent
from eda_lib.explorer import events
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.membership import Membership
from eda_lib.messaging.producer import Producer
from eda_lib.processing.steps import Step, apply
from eda_lib.processing.windows import Sliding, Tumbling, Window, WindowCounted

_IDS = uuid.UUID("5f1a7c3e-6b0d-4c1e-9a7e-0e5d2c4b8a91")  # namespace of result ids


@dataclass
class _Tally:
    count: int = 0
    total: int = 0
    needs: dict[TopicPartition, int] = field(default_factory=dict)  # first offset per partition


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
        self._member = Membership(broker, group, self.name)
        self._dead_letters = DeadLetters(self._member, None, random.Random(0))
        self.open: dict[tuple[str, Window], _Tally] = {}
        self.latest: datetime | None = None  # the latest event time seen
        self.closed_through: datetime | None = None  # windows ending here or before are closed
        self._closed_last: set[str] = set()  # keys whose window ending at closed_through is out
        self._read_before: dict[int, int] = {}  # per partition: offsets below were read before
        self.results: list[WindowCounted] = []
        self._next: dict[TopicPartition, int] = {}
        self._partitions: dict[int, TopicPartition] = {}
        self._windows: dict[datetime, tuple[Window, ...]] = {}  # each moment's, worked out once
        self.running = False

    @property
    def watermark(self) -> datetime | None:
        return None if self.latest is None else self.latest - self.lateness

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Find how far this processor's results go, then join the group."""
        await self._dead_letters.ensure_topics([self.source])
        await self._restore_closed()
        await self.broker.join(self.group, [self.source], member=self.name)
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
        idle; each polled batch is counted, closed windows are published, then offsets are
        committed as far as the open windows allow."""
        report = ProcessorReport()
        # Wall time, not the broker's clock: a virtual clock does not move while we wait.
        began = time.monotonic()
        quiet_since: float | None = None
        while self.running:
            room = self.batch_size if max_events is None else max_events - report.read
            if room <= 0:
                report.stopped_because = "max_events"
                break
            batch = await self.broker.poll(
                self.group,
                self.name,
                max_records=min(room, self.batch_size),
                timeout=self.poll_timeout,
            )
            now = time.monotonic()
            if batch:
                quiet_since = None
            else:
                quiet_since = now if quiet_since is None else quiet_since
                if timeout is not None and now - began >= timeout:
                    report.stopped_because = "timeout"
                    break
                if timeout is None and now - quiet_since >= self.broker.idle_after:
                    report.stopped_because = "idle"
                    break
                continue
            for record in batch:
                await self._take(record, report)
            await self._publish_closed(report)
            await self._commit()
        return report

    async def _take(self, record: Record, report: ProcessorReport) -> None:
        report.read += 1
        tp = self._partitions.get(record.partition)
        if tp is None:
            tp = self._partitions[record.partition] = TopicPartition(record.topic, record.partition)
        self._next[tp] = record.offset + 1
        try:
            event = self.broker.codec.decode(record.value, record.headers)
        except InvalidEvent as error:
            report.unreadable += 1
            await self._dead_letters.park(record, error.problem, str(error))
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
        still_open = [w for w in windows if self._is_open(key, w)]
        if not still_open:
            if record.offset < self._read_before.get(record.partition, 0):
                report.replayed += 1  # read before the restart, and counted then
                return
            report.too_late += 1
            why = f"event time {moment:%H:%M:%S}: its windows closed (watermark {self.watermark})"
            await self._dead_letters.park(record, "too_late", why, kept)
            return
        if self.latest is not None and moment < self.latest:
            report.late += 1
        amount = 1 if self.value is None else self.value(kept)
        for window in still_open:
            tally = self.open.setdefault((key, window), _Tally())
            tally.count += 1
            tally.total += amount
            tally.needs.setdefault(tp, record.offset)
        self.latest = moment if self.latest is None else max(self.latest, moment)
        report.counted += 1
        self._member.hop("handled", record, kept)

    def _is_open(self, key: str, window: Window) -> bool:
        end, latest, closed = window.end, self.latest, self.closed_through
        if latest is not None and end <= latest - self.lateness:  # the watermark has passed it
            return False
        if closed is None or end > closed:
            return True
        return end == closed and key not in self._closed_last

    async def _publish_closed(self, report: ProcessorReport) -> None:
        watermark = self.watermark
        if watermark is None:
            return
        closing = sorted((w.end, key, w) for key, w in self.open if w.end <= watermark)
        if not closing:
            return
        results = [self._result(key, window) for _, key, window in closing]
        producer = Producer(self.broker, self.name)
        await producer.send_all(self.sink, results)
        for _, key, window in closing:
            del self.open[key, window]
        self.results.extend(results)
        report.emitted += len(results)
        last = max(end for end, _, _ in closing)
        self._closed_last = {k for end, k, _ in closing if end == last}
        self.closed_through = last

    def _result(self, key: str, window: Window) -> WindowCounted:
        tally = self.open[key, window]
        identity = f"{self.group}|{key}|{window.start.isoformat()}|{window.end.isoformat()}"
        return WindowCounted(
            id=uuid.uuid5(_IDS, identity),
            time=window.end,
            processor=self.group,
            counted_key=key,
            window_start=window.start,
            window_end=window.end,
            count=tally.count,
            total=tally.total,
            read_through={str(tp.partition): n for tp, n in self._next.items()},
        )

    async def _commit(self) -> None:
        offsets = dict(self._next)
        for tally in self.open.values():
            for tp, first in tally.needs.items():
                offsets[tp] = min(offsets.get(tp, first), first)
        if offsets:
            await self.broker.commit(self.group, self.name, offsets)

    async def _restore_closed(self) -> None:
        """Which windows this processor closed, and how far it had read, from its results."""
        if self.sink not in await self.broker.topics():
            return
        mine = [
            event
            for event in await events(self.broker, self.sink, limit=100_000)
            if isinstance(event, WindowCounted) and event.processor == self.group
        ]
        if not mine:
            return
        last = max(event.window_end for event in mine)
        self.closed_through = last
        self._closed_last = {e.counted_key for e in mine if e.window_end == last}
        for event in mine:
            for partition, offset in event.read_through.items():
                number = int(partition)
                self._read_before[number] = max(self._read_before.get(number, 0), offset)
