"""When a consumer commits (lessons 08 and 12), one small class per choice.

`each` commits after every event: a crash repeats at most the event in hand. `batch` commits
once per polled batch (and at the end of a run, and on stop): far fewer round trips to a real
broker, but a crash repeats up to a batch. `before` commits each event as it arrives, before
handling: at most once, so a crash mid-handler loses that event.
"""

from __future__ import annotations

import contextlib
from typing import Literal

from eda_lib.brokers.base import (
    CommitFailed,
    Record,
    UnknownMember,
    topic_partition,
)
from eda_lib.messaging.inbox import Inbox

CommitMode = Literal["each", "batch", "before"]


class CommitStrategy:
    """When to commit: the consumer calls `arrived` before a record's handler runs, `done`
    after it, and `flush` before it polls again and when it stops. This base commits nothing;
    `CommitEach` makes `done` commit the record, `CommitBefore` makes `arrived` do it, and
    `CommitBatch` keeps the last offset per partition for `flush`."""

    mode: CommitMode
    early = False  # commits when a record arrives, before its handler runs

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def arrived(self, record: Record) -> bool:
        """A record is about to be handled; False if it is no longer this member's to handle
        (its partition moved away while it waited)."""
        return True

    async def done(self, record: Record) -> bool:
        """A record was handled, ignored or dead-lettered; False if its commit was refused."""
        return True

    async def flush(self) -> None:
        """Commit whatever is still waiting (before polling again, and when stopping)."""

    def drop(self) -> None:
        """The process died: what waited to be committed never will be."""

    async def _commit(self, record: Record) -> bool:
        """Commit past `record`; False if the group refused because the partition is no longer
        this member's (the next owner starts from the last commit, and gets the record)."""
        inbox, m = self.inbox, self.inbox.membership
        tp = topic_partition(record.topic, record.partition)
        try:
            await m.broker.commit(
                m.group, m.name, {tp: record.offset + 1}, generation=inbox.generation
            )
        except UnknownMember:  # stopped meanwhile: the next owner gets this record again
            inbox.pending.clear()
            return False
        except CommitFailed:
            # The partition moved to another member, which starts from the last commit; drop
            # what is still held from it rather than handle it twice.
            inbox.forget(tp)
            return False
        return True


class CommitEach(CommitStrategy):
    mode = "each"

    def __init__(self, inbox: Inbox) -> None:
        super().__init__(inbox)
        self.done = self._commit  # type: ignore[method-assign]  # one call less per event


class CommitBefore(CommitStrategy):
    mode = "before"
    early = True

    def __init__(self, inbox: Inbox) -> None:
        super().__init__(inbox)
        self.arrived = self._commit  # type: ignore[method-assign]  # one call less per event


class CommitBatch(CommitStrategy):
    mode = "batch"

    def __init__(self, inbox: Inbox) -> None:
        super().__init__(inbox)
        # Next offset per (topic, partition), and the generation in which its records were polled.
        self._done: dict[tuple[str, int], tuple[int, int]] = {}

    async def done(self, record: Record) -> bool:
        self._done[record.topic, record.partition] = (record.offset + 1, self.inbox.generation)
        return True

    async def flush(self) -> None:
        waiting, self._done = self._done, {}
        m = self.inbox.membership
        for (topic, partition), (offset, generation) in waiting.items():
            # One partition at a time: one that changed hands is refused alone, and its records
            # are delivered again by its new owner; nothing is lost.
            with contextlib.suppress(CommitFailed, UnknownMember):
                tp = topic_partition(topic, partition)
                await m.broker.commit(m.group, m.name, {tp: offset}, generation=generation)

    def drop(self) -> None:
        self._done.clear()


STRATEGIES: dict[str, type[CommitStrategy]] = {
    "each": CommitEach,
    "batch": CommitBatch,
    "before": CommitBefore,
}


def commit_strategy(mode: str, inbox: Inbox) -> CommitStrategy:
    try:
        return STRATEGIES[mode](inbox)
    except KeyError:
        raise ValueError(f"commit must be 'each', 'batch' or 'before', not {mode!r}") from None
