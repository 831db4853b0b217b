"""The poll side of a consumer: what its group hands it, checked by offset, not yet handled."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from eda_lib.brokers.base import Record, TopicPartition
from eda_lib.messaging.membership import Membership


class OffsetTracker:
    """Offsets make repeats and holes visible: a partition's records come one after another.
    A record seen before is skipped (a 'duplicate' hop). Offsets that never come were deleted
    by retention before this member read them: it notes a 'gap' and moves on."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        self.duplicates = 0
        self._next: dict[tuple[str, int], int] = {}  # next offset expected, per partition

    def accept(self, batch: Iterable[Record]) -> list[Record]:
        kept: list[Record] = []
        following = self._next
        for record in batch:
            key = (record.topic, record.partition)  # equal to its TopicPartition, and cheaper
            expected = following.get(key)
            if expected is None or expected == record.offset:  # the usual case: next in line
                kept.append(record)
                following[key] = record.offset + 1
            elif record.offset < expected:
                self.membership.hop("duplicate", record, detail="this offset came before: skipped")
                self.duplicates += 1
            else:
                self.membership.hop(
                    "gap",
                    record,
                    detail=f"offsets {expected}..{record.offset - 1} were deleted by retention "
                    "before this member read them: moving on",
                )
                kept.append(record)
                following[key] = record.offset + 1
        return kept

    def expect(self, partition: TopicPartition, offset: int) -> None:
        self._next[partition] = offset

    def clear(self) -> None:
        self._next.clear()


class Inbox:
    """Records polled for this member and not yet handled, in order. A rebalance makes them
    stale: their partitions restart from the committed offsets, possibly at another member."""

    def __init__(self, membership: Membership) -> None:
        self.membership = membership
        self.offsets = OffsetTracker(membership)
        self.pending: deque[Record] = deque()
        self.generation = -1  # of the group when these records were polled

    def joined(self) -> None:
        m = self.membership
        self.clear()
        self.generation = m.broker.generation(m.group, m.name)

    def next(self) -> Record | None:
        """The next record to handle, unless the group rebalanced since it was polled."""
        return self.pending.popleft() if self.pending and self.current() else None

    def current(self) -> bool:
        """Whether what is pending is still this member's: if the group rebalanced since it
        was polled, it is dropped (its partitions restart from the committed offsets)."""
        m = self.membership
        if m.broker.generation(m.group, m.name) == self.generation:
            return True
        self.pending.clear()
        return False

    async def fill(self, max_records: int, timeout: float) -> bool:
        """Poll once; True if anything arrived (even if all of it was a repeat)."""
        m = self.membership
        batch = await m.broker.poll(m.group, m.name, max_records=max_records, timeout=timeout)
        generation = m.broker.generation(m.group, m.name)
        if generation != self.generation:  # a new assignment: new starting points
            self.offsets.clear()
            self.generation = generation
        self.pending.extend(self.offsets.accept(batch))
        return bool(batch)

    def forget(self, partition: TopicPartition) -> None:
        """Drop what is held from `partition` (it moved away, or is read again from elsewhere)."""
        kept = [r for r in self.pending if (r.topic, r.partition) != partition]
        self.pending.clear()  # in place: the poll loop holds on to this deque
        self.pending.extend(kept)

    def clear(self) -> None:
        self.pending.clear()
        self.offsets.clear()
