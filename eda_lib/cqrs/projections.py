"""The read side of CQRS (lesson 10): projections that build read models from events.

A projection applies events in global order and remembers the last position it applied (its
checkpoint), so it can stop and go on later, or be thrown away and rebuilt from position 1: the
events are the truth, a read model is only one view of them. `Projector` feeds projections from
the store; `Projection.on_event` is a consumer handler, to feed one from a topic instead.

A read model in SQLite keeps its checkpoint in the same file and writes both in one transaction,
so after a crash the rows and the checkpoint always agree.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import ClassVar

from eda_lib.events import Event
from eda_lib.store.base import EventStore, StoredEvent, check_whole


class Projection(ABC):
    """Base of read models. Subclasses write `apply(event)` and `clear()`."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.position = 0
        """The last global position applied: the checkpoint."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:  # a subclass keeps its parent's name, and so its checkpoint
            cls.name = cls.__name__

    @abstractmethod
    def apply(self, event: Event) -> None:
        """Change the read model as the event says; ignore events it does not care about."""

    @abstractmethod
    def clear(self) -> None:
        """Empty the read model (before a rebuild)."""

    def table(self) -> list[dict[str, object]]:
        """The read model as rows, for pictures and for showing in a notebook."""
        return []

    def handle(self, stored: StoredEvent) -> bool:
        """Apply a stored event unless it is at or before the checkpoint (already applied)."""
        if stored.position <= self.position:
            return False
        self.apply(stored.event)
        self.position = stored.position
        return True

    def on_event(self, event: Event) -> None:
        """A consumer handler: feeds the projection from a topic instead of the store. Delivery
        is then at least once: a repeated event is applied again, unless the consumer skips
        repeats (`idempotency=...`, lesson 12) or `apply` does nothing the second time."""
        self.apply(event)

    def transaction(self) -> AbstractContextManager[object]:
        """Around each batch: where a durable read model commits rows and checkpoint together."""
        return nullcontext()

    def reset(self) -> None:
        self.clear()
        self.position = 0


class Projector:
    """Feeds projections the store's events from each one's checkpoint on."""

    def __init__(self, store: EventStore, *projections: Projection, batch_size: int = 500):
        self.store = store
        self.projections = list(projections)
        self.batch_size = check_whole(batch_size, "batch_size", least=1)

    def __repr__(self) -> str:
        names = ", ".join(f"{p.name} at {p.position}" for p in self.projections)
        return f"Projector({names}; store at {self.store.last_position()})"

    def lag(self, projection: Projection) -> int:
        """How many stored events the projection has not applied yet."""
        return self.store.last_position() - projection.position

    def catch_up(self, max_events: int | None = None) -> int:
        """Apply what each projection has not seen (at most `max_events` each); returns how
        many events were applied in all."""
        applied = 0
        for projection in self.projections:
            budget = max_events
            while budget is None or budget > 0:
                size = self.batch_size if budget is None else min(self.batch_size, budget)
                batch = self.store.read_all(projection.position + 1, size)
                if not batch:
                    break
                with projection.transaction():
                    applied += sum(projection.handle(stored) for stored in batch)
                if budget is not None:
                    budget -= len(batch)
        return applied

    def rebuild(self, projection: Projection) -> int:
        """Throw the read model away and build it again from position 1."""
        with projection.transaction():
            projection.reset()
        return Projector(self.store, projection, batch_size=self.batch_size).catch_up()


class SQLiteProjection(Projection):
    """A read model in SQLite tables. Subclasses set `schema` (CREATE TABLE statements) and
    `tables`, and write `apply` with `self.db`; rows and checkpoint commit together."""

    schema: ClassVar[str] = ""
    tables: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS projection_checkpoints "
            f"(name TEXT PRIMARY KEY, position INTEGER NOT NULL); {self.schema}"
        )
        self.position = self._saved_position()

    @contextmanager
    def transaction(self) -> Iterator[object]:
        self.db.execute("BEGIN IMMEDIATE")
        # Another process may have moved the checkpoint since this one read it: go on from
        # there, so the events it applied are skipped (`handle` ignores them), not applied twice.
        self.position = self._saved_position()
        try:
            yield self.db
            self.db.execute(
                "INSERT OR REPLACE INTO projection_checkpoints VALUES (?, ?)",
                (self.name, self.position),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            self.position = self._saved_position()
            raise

    def _saved_position(self) -> int:
        row = self.db.execute(
            "SELECT position FROM projection_checkpoints WHERE name = ?", (self.name,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def clear(self) -> None:
        for table in self.tables:
            self.db.execute(f"DELETE FROM {table}")  # names from the class, never from input

    def close(self) -> None:
        self.db.close()
