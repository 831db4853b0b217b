"""A consumer's work between joining and leaving: take the next record (polling when the inbox
is empty), process it, commit as the strategy says, and know when a run must end."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Literal

from eda_lib.brokers.base import Record, TopicPartition, UnknownMember
from eda_lib.events import Event
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.commits import CommitStrategy
from eda_lib.messaging.inbox import Inbox
from eda_lib.messaging.processing import ConsumerCrash, Outcome, Processor

StopReason = Literal["max_events", "idle", "timeout", "stopped", "crashed", "stalled"]


@dataclass(slots=True)
class Limits:
    """Where one run ends: after `max_events`, at `deadline` (loop time), or when idle."""

    max_events: int | None
    deadline: float | None
    until_idle: bool
    processed: int = 0

    @classmethod
    def of(cls, max_events: int | None, timeout: float | None, idle: bool | None) -> Limits:
        until_idle = timeout is None if idle is None else idle
        if not until_idle and timeout is None and max_events is None:
            raise ValueError("this run would never end: give max_events, timeout or until_idle")
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        return cls(max_events, deadline, until_idle)


class Pipeline:
    def __init__(
        self,
        inbox: Inbox,
        commits: CommitStrategy,
        processor: Processor,
        faults: ConsumerFaults | None,
        *,
        batch_size: int,
        poll_timeout: float,
    ) -> None:
        self.inbox = inbox
        self.commits = commits
        self.processor = processor
        self.faults = faults
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.stopping = False

    def stop_reason(self, run: Limits) -> StopReason | None:
        """Why the run must end before its next record, if it must."""
        if self.stopping:
            return "stopped"
        if run.max_events is not None and run.processed >= run.max_events:
            return "max_events"
        if run.deadline is not None and asyncio.get_running_loop().time() >= run.deadline:
            return "timeout"
        return None

    async def refill(self, run: Limits) -> StopReason | None:
        """The inbox is empty: commit what waits, then poll; why the run ends, if it does."""
        await self.commits.flush()
        wait = self.inbox.membership.broker.idle_after if run.until_idle else self.poll_timeout
        if run.deadline is not None:
            wait = max(0.0, min(wait, run.deadline - asyncio.get_running_loop().time()))
        wanted = self.batch_size
        if run.max_events is not None:
            wanted = min(wanted, run.max_events - run.processed)
        try:
            arrived = await self.inbox.fill(wanted, wait)
        except UnknownMember:  # stop() was called while this poll waited
            return "stopped"
        if not arrived and not self.inbox.pending and run.until_idle:
            return "idle"
        return None

    async def next(self, run: Limits) -> Record | StopReason:
        """The next record to process, or why the run ends."""
        while True:
            reason = self.stop_reason(run)
            if reason is not None:
                return reason
            record = self.inbox.next()
            if record is not None:
                return record
            reason = await self.refill(run)
            if reason is not None:
                return reason

    async def run(self, run: Limits) -> StopReason:
        """Process records until the run ends; on a crash, what was held is gone (the
        consumer then leaves its group)."""
        inbox, commits, processor = self.inbox, self.commits, self.processor
        pending = inbox.pending
        limit = math.inf if run.max_events is None else run.max_events
        deadline, loop = run.deadline, asyncio.get_running_loop()
        while True:
            # Every event passes here: stop_reason and inbox.next, written out.
            if self.stopping:
                return "stopped"
            if run.processed >= limit:
                return "max_events"
            if deadline is not None and loop.time() >= deadline:
                return "timeout"
            if pending and inbox.current():
                record = pending.popleft()
            else:
                reason = await self.refill(run)
                if reason is not None:
                    return reason
                continue
            try:
                if commits.early and not await commits.arrived(record):
                    continue  # at most once: a record it could not commit is not its to handle
                outcome, event = await processor.process(record)
                if outcome is Outcome.HANDLED and self.faults is None:  # the usual case
                    await commits.done(record)
                elif not await self._settle(record, outcome, event):
                    return "stalled"
            except ConsumerCrash as crash:
                self.crashed(record, str(crash))
                return "crashed"
            run.processed += 1

    async def _settle(self, record: Record, outcome: Outcome, event: Event | None) -> bool:
        """Commit (or not) after the unusual outcomes; False if the record must be read again."""
        if outcome is Outcome.UNPARKED:
            await self.read_again(record)
            return False
        if event is not None and outcome in (Outcome.HANDLED, Outcome.GAVE_UP):
            await self.finish(record, event)
        else:
            await self.commits.done(record)
        return True

    async def finish(self, record: Record, event: Event) -> None:
        """Commit after an event's handler ran, crashing on either side if the faults say so."""
        faults = self.faults
        if faults is not None and faults.crash_before_commit and faults.crash_before_commit(event):
            raise ConsumerCrash("crashed after handling, before committing")
        await self.commits.done(record)
        if faults is not None and faults.crash_after_commit and faults.crash_after_commit(event):
            await self.commits.flush()  # "after committing" means committed, in batch mode too
            raise ConsumerCrash("crashed right after committing")

    async def read_again(self, record: Record) -> None:
        """Read `record` (and what follows it in its partition) again at the next poll, rather
        than lose it: the broker would not take it into the dead-letter topic. What is held from
        other partitions stays held, for the next run."""
        m = self.inbox.membership
        tp = TopicPartition(record.topic, record.partition)
        await m.broker.seek(m.group, m.name, tp, record.offset)
        self.inbox.forget(tp)
        self.inbox.offsets.expect(tp, record.offset)

    def crashed(self, record: Record, why: str) -> None:
        """The process died at `record`: what it held and had not committed dies with it."""
        self.inbox.clear()
        self.commits.drop()
        self.inbox.membership.hop("crashed", record, detail=why or "the consumer crashed")
