"""Time travel (lessons 05 and 10): the aggregates and a read model as they were at any global
position, rebuilt from the events up to it. Nothing else is needed: the log is the history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from eda_lib.cqrs.projections import Projection
from eda_lib.sourcing.aggregate import Aggregate
from eda_lib.store.base import EventStore, StoredEvent, check_whole

A = TypeVar("A", bound=Aggregate)
P = TypeVar("P", bound=Projection)


@dataclass(frozen=True)
class Moment(Generic[A, P]):
    """The state after the event at `position` (position 0: before the first event)."""

    position: int
    event: StoredEvent | None
    aggregates: dict[str, A] = field(repr=False)
    read_model: P = field(repr=False)


class TimeTravel(Generic[A, P]):
    """Rebuilds the aggregates of `aggregate_class` and a fresh read model from `read_model`
    at any global position of `store`."""

    def __init__(
        self, store: EventStore, aggregate_class: type[A], read_model: Callable[[], P]
    ) -> None:
        self.store = store
        self.aggregate_class = aggregate_class
        self.read_model = read_model

    def __repr__(self) -> str:
        return f"TimeTravel({self.aggregate_class.__name__}, 0..{self.last_position()})"

    def last_position(self) -> int:
        return self.store.last_position()

    def at(self, position: int) -> Moment[A, P]:
        check_whole(position, "position", least=0)
        history = self.store.read_all(1, limit=position) if position else []
        prefix = f"{self.aggregate_class.stream_prefix}-"
        streams: dict[str, list[StoredEvent]] = {}
        for stored in history:
            if stored.stream_id.startswith(prefix):
                streams.setdefault(stored.stream_id.removeprefix(prefix), []).append(stored)
        aggregates = {
            aggregate_id: self.aggregate_class.from_events(aggregate_id, [s.event for s in events])
            for aggregate_id, events in streams.items()
        }
        view = self.read_model()
        for stored in history:
            view.handle(stored)
        return Moment(position, history[-1] if history else None, aggregates, view)
