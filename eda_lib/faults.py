"""Faults as data (lesson 12): what a broker does wrong and where a consumer dies, so the
delivery semantics can be compared on exactly the same failures. Every effect is in the trace."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from eda_lib.events import Event
from eda_lib.trace import Trace


class _Placed(Protocol):
    """Where a record sits: all a fault needs to know of it (a broker's `Record` is one)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=_Placed)  # whatever record type the broker uses


@dataclass
class CrashOnce:
    """True the first time an event whose payment or order id is in `ids` (any event, if `ids`
    is None) comes by, then never again for that event: a process dies once, then restarts."""

    ids: frozenset[str] | None = None
    _fired: set[object] = field(default_factory=set)

    def __call__(self, event: Event) -> bool:
        keys = {getattr(event, name, None) for name in ("payment_id", "order_id")}
        if (self.ids is not None and not self.ids & keys) or event.id in self._fired:
            return False
        self._fired.add(event.id)
        return True


@dataclass
class ConsumerFaults:
    """What goes wrong in a consumer, on any broker: it crashes right after handling an event
    but before committing it (the effect happened; the broker does not know), or right after
    committing it; or it is slow, taking `slow` seconds per event (on a virtual clock, that
    time passes without waiting)."""

    crash_before_commit: Callable[[Event], bool] | None = None
    crash_after_commit: Callable[[Event], bool] | None = None
    slow: float = 0.0

    def __post_init__(self) -> None:
        if self.slow < 0:
            raise ValueError(f"slow is seconds per event, 0 or more, not {self.slow}")


@dataclass
class BrokerFaults:
    """What an `InMemoryBroker` does wrong. Change the fields at any time (a widget does).

    `drop` is the chance that a fetch response is lost on its way to a consumer: its position
    does not move, so it asks for the same records again (as a Kafka client does after a fetch
    times out); if every try within one poll is lost, the poll comes back empty. A lost response
    costs time, never data. `duplicate` is the chance that one record arrives twice; `reorder`
    interleaves the partitions of a poll at random (each partition keeps its own order); `outage`
    makes every send fail with `BrokerUnavailable`. The seed makes each run repeat exactly.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False
    outage: bool = False
    outage_until: datetime | None = None  # down until then (on the broker's clock), if set
    seed: int = 0
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate"):
            chance = getattr(self, name)
            if not 0 <= chance <= 1:
                raise ValueError(f"{name} is a probability between 0 and 1, not {chance}")
        self.rng = random.Random(self.seed)

    def down(self, now: datetime) -> bool:
        return self.outage or (self.outage_until is not None and now < self.outage_until)

    def lost(self, batch: list[R], trace: Trace, group: str, member: str) -> bool:
        """Whether the response carrying `batch` is lost; if so, a 'dropped' hop per record."""
        if not self.drop or self.rng.random() >= self.drop:
            return False
        for record in batch:
            trace.record(
                "dropped",
                record.topic,
                record.partition,
                record.offset,
                group,
                member,
                detail="the fetch response was lost: the consumer asks again",
            )
        return True

    def disturb(self, batch: list[R], trace: Trace, group: str, member: str) -> list[R]:
        """The batch as a faulty network would deliver it, each fault recorded in the trace."""
        if not (self.duplicate or self.reorder):
            return batch
        out: list[R] = []
        for record in batch:
            out.append(record)
            if self.duplicate and self.rng.random() < self.duplicate:
                trace.record(
                    "duplicated", record.topic, record.partition, record.offset, group, member
                )
                out.append(record)
        if self.reorder:
            out = self._reorder(out, trace, group, member)
        return out

    def _reorder(self, batch: list[R], trace: Trace, group: str, member: str) -> list[R]:
        queues: dict[int, list[R]] = {}
        for record in batch:
            queues.setdefault(record.partition, []).append(record)
        mixed = []
        while queues:  # pick a random partition each time: order within each is kept
            partition = self.rng.choice(sorted(queues))
            mixed.append(queues[partition].pop(0))
            if not queues[partition]:
                del queues[partition]
        if mixed != batch:
            order = ", ".join(f"{r.partition}@{r.offset}" for r in mixed)
            trace.record(
                "reordered",
                mixed[0].topic,
                group=group,
                actor=member,
                detail=f"delivered as {order}",
            )
        return mixed
