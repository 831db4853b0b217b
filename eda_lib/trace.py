"""The record of every hop an event makes. Plots, widgets and tests all read this, so what a
learner sees is what happened."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from uuid import UUID

from eda_lib.clock import Clock, SystemClock

HopKind = Literal[
    "produced",  # a producer handed an event to the broker
    "stored",  # the broker appended it to a partition log at an offset
    "delivered",  # a group member received it
    "handled",  # the handler finished without error
    "ignored",  # the consumer has no handler for this event type, so it moved on
    "failed",  # it could not be read or the handler raised; `detail` says why
    "retried",  # the handler raised and will be tried again after a backoff
    "duplicate",  # an idempotent consumer had already applied this event, so it skipped it
    "dead_lettered",  # a failed record was copied to the dead-letter topic
    "committed",  # the group's committed offset moved past it
    "expired",  # retention deleted it from the log
    "crashed",  # the consumer died here: it left its group without committing what it held
    "rebalanced",  # a group re-divided its partitions; `detail` lists the assignment
    "dropped",  # a fault: the fetch response carrying it was lost; the member fetches again
    "duplicated",  # a fault: the broker delivered this record twice
    "reordered",  # a fault: the broker mixed the partitions of one delivery
    "gap",  # offsets are missing because retention deleted them: the consumer moves on
    "unavailable",  # a fault: the broker was down and refused a send
]


class Hop(NamedTuple):
    seq: int
    kind: HopKind
    time: datetime
    topic: str = ""
    partition: int = -1
    offset: int = -1  # for "committed", the committed offset: the next one the group will read
    group: str = ""
    actor: str = ""  # the producer or group member that made the hop
    event_type: str = ""
    event_id: str = ""
    detail: str = ""

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}" if self.offset >= 0 else self.topic


_FIELDS = 10  # kind, stamp, topic, partition, offset, group, actor, event_type, event_id, detail


class Trace:
    """An append-only list of hops, each stamped with the time on `clock` when it was recorded.
    Turn it off (`enabled = False`) only to measure raw speed."""

    def __init__(self, clock: Clock, enabled: bool = True) -> None:
        self.enabled = enabled
        # Recording is on every message's hot path, so hops are kept flat, ten fields after
        # another in one list (no object per hop for the garbage collector to visit), with
        # wall-clock time as a float (a tenth of the cost of a datetime); Hop objects are made
        # when the trace is read.
        self._stamp: Callable[[], datetime | float] = (
            time.time if type(clock) is SystemClock else clock.now
        )
        self._flat: list[Any] = []
        self._hops: list[Hop] = []

    def record(
        self,
        kind: HopKind,
        topic: str = "",
        partition: int = -1,
        offset: int = -1,
        group: str = "",
        actor: str = "",
        event_type: str = "",
        event_id: UUID | str = "",
        detail: str = "",
    ) -> None:
        if self.enabled:
            stamp = self._stamp()
            self._flat.extend(
                (kind, stamp, topic, partition, offset, group, actor, event_type, event_id, detail)
            )

    def produced(self, topic: str, producer: str, events: Sequence[Any]) -> None:
        """One 'produced' hop per event of `events`, each sent with its own key (`event.key`),
        all stamped with the moment the batch is handed over together."""
        if self.enabled and events:
            stamp, extend = self._stamp(), self._flat.extend
            for e in events:
                key = e.key
                detail = "no key" if key is None else f"key={key}"
                extend(("produced", stamp, topic, -1, -1, "", producer, e.event_type, e.id, detail))

    def stored(self, topic: str, placed: Sequence[Any], producer: str) -> None:
        """One 'stored' hop per acknowledgement of `placed` (each with a partition and an
        offset), all acknowledged at once."""
        if self.enabled and placed:
            stamp, extend = self._stamp(), self._flat.extend
            for r in placed:
                extend(("stored", stamp, topic, r.partition, r.offset, "", producer, "", "", ""))

    def delivered(self, batch: Sequence[Any], group: str, member: str) -> None:
        """One 'delivered' hop per record of `batch` handed to a group member."""
        if self.enabled and batch:
            stamp, extend = self._stamp(), self._flat.extend
            for r in batch:
                extend(
                    ("delivered", stamp, r.topic, r.partition, r.offset, group, member, "", "", "")
                )

    @property
    def hops(self) -> list[Hop]:
        """Every hop so far, oldest first."""
        flat = self._flat
        for seq in range(len(self._hops), len(flat) // _FIELDS):
            kind, stamp, topic, partition, offset, group, actor, event_type, event_id, detail = (
                flat[seq * _FIELDS : (seq + 1) * _FIELDS]
            )
            when = stamp if isinstance(stamp, datetime) else datetime.fromtimestamp(stamp, UTC)
            self._hops.append(
                Hop(
                    seq,
                    kind,
                    when,
                    topic,
                    partition,
                    offset,
                    group,
                    actor,
                    event_type,
                    str(event_id),
                    detail,
                )
            )
        return self._hops

    def __iter__(self) -> Iterator[Hop]:
        return iter(self.hops)

    def __len__(self) -> int:
        return len(self._flat) // _FIELDS

    def select(
        self, kind: HopKind | None = None, *, group: str | None = None, topic: str | None = None
    ) -> list[Hop]:
        return [
            hop
            for hop in self.hops
            if (kind is None or hop.kind == kind)
            and (group is None or hop.group == group)
            and (topic is None or hop.topic == topic)
        ]

    def counts(self, *, group: str | None = None) -> dict[str, int]:
        """How many hops of each kind, in the order kinds first appeared."""
        return dict(Counter(hop.kind for hop in self.hops if group is None or hop.group == group))

    def table(self, last: int = 20) -> str:
        """The last hops as a fixed-width text table."""
        rows = [("seq", "kind", "where", "by", "event", "detail")]
        for hop in self.hops[-last:] if last > 0 else []:
            who = f"{hop.group}/{hop.actor}" if hop.group and hop.actor else hop.group or hop.actor
            rows.append((str(hop.seq), hop.kind, hop.where, who, hop.event_type, hop.detail))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )

    def clear(self) -> None:
        self._flat.clear()
        self._hops.clear()
