"""Loading and saving aggregates by their events (lesson 09), with snapshots.

`load` replays the aggregate's stream (from its latest snapshot, if there is one); `save`
appends what the aggregate recorded with the version it was loaded at as the expected version,
so two people deciding on the same old state cannot both win: the second gets a
`ConcurrencyError` and must load again.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from eda_lib.sourcing.aggregate import Aggregate
from eda_lib.store.base import (
    EventStore,
    InvalidVersion,
    Snapshot,
    StoredEvent,
    StoreError,
    check_whole,
)

A = TypeVar("A", bound=Aggregate)


class AggregateNotFound(StoreError, KeyError):
    """No events were ever stored for the aggregate."""

    def __str__(self) -> str:
        return str(self.args[0])


class Repository(Generic[A]):
    """Aggregates of one class in one store. With `snapshot_every=N`, the state is saved after
    every N events, and `load` replays only the events after the latest snapshot."""

    def __init__(
        self, store: EventStore, aggregate_class: type[A], *, snapshot_every: int | None = None
    ) -> None:
        self.store = store
        self.aggregate_class = aggregate_class
        if snapshot_every is not None:
            check_whole(snapshot_every, "snapshot_every", least=1)
        self.snapshot_every = snapshot_every
        self.replayed = 0
        """Events read back by `load` so far: what snapshots save."""

    def __repr__(self) -> str:
        every = f", snapshot_every={self.snapshot_every}" if self.snapshot_every else ""
        return f"Repository({self.aggregate_class.__name__}{every})"

    def stream_id(self, aggregate_id: str) -> str:
        return f"{self.aggregate_class.stream_prefix}-{aggregate_id}"

    def load(self, aggregate_id: str, *, at_version: int | None = None) -> A:
        """The aggregate as its events leave it (only the first `at_version` of them, if given:
        the aggregate as it was then)."""
        stream_id = self.stream_id(aggregate_id)
        snapshot = self.store.load_snapshot(stream_id) if self.snapshot_every else None
        if snapshot is not None and snapshot.schema != self.aggregate_class.snapshot_version:
            snapshot = None  # taken by an older version of the class: replay everything
        if at_version is not None:
            check_whole(at_version, "at_version", least=1)
            if snapshot is not None and snapshot.version > at_version:
                snapshot = None
        if snapshot is None:
            aggregate = self.aggregate_class(aggregate_id)
        else:
            aggregate = self.aggregate_class.from_snapshot(
                aggregate_id, snapshot.version, snapshot.state
            )
        tail = self.store.read_stream(stream_id, aggregate.version + 1)
        if at_version is not None:
            tail = tail[: at_version - aggregate.version]
        if not tail and snapshot is None:
            raise AggregateNotFound(
                f"no {self.aggregate_class.__name__} with id '{aggregate_id}' (stream "
                f"'{stream_id}' is empty). Fix: check the id, or create it with a command first"
            )
        for stored in tail:
            aggregate._replay_one(stored.event)
        self.replayed += len(tail)
        if at_version is not None and aggregate.version < at_version:
            raise InvalidVersion(
                f"stream '{stream_id}' has {aggregate.version} events, so there is no version "
                f"{at_version}. Fix: ask for a version from 1 to {aggregate.version}"
            )
        return aggregate

    def save(self, aggregate: A) -> list[StoredEvent]:
        """Append what the aggregate recorded since it was loaded; raises `ConcurrencyError` if
        someone else saved the same aggregate in between."""
        pending = aggregate.pending_events
        if not pending:
            return []
        loaded_at = aggregate.version - len(pending)
        stored = self.store.append(aggregate.stream_id, pending, loaded_at)
        aggregate.mark_saved()
        every = self.snapshot_every
        if every and aggregate.version // every > loaded_at // every:
            self.store.save_snapshot(
                Snapshot(
                    aggregate.stream_id,
                    aggregate.version,
                    aggregate.snapshot_state(),
                    aggregate.snapshot_version,
                )
            )
        return stored
