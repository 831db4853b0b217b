"""An event store in one SQLite file (lesson 09): durable, queryable with SQL, safe to share
between processes.

Each event is a row of its CloudEvents structured-mode JSON (what `serialize` writes), so an
event read back can be published as it is, and `json_extract` can query inside it. The file is
in WAL mode with `synchronous=FULL`: an append is one transaction, on disk before `append`
returns, and a process killed mid-append leaves either all of its events or none.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from pydantic_core import from_json

from eda_lib.codecs import from_cloudevent, serialize
from eda_lib.events import Event, InvalidEvent
from eda_lib.store.base import (
    ConcurrencyError,
    NotAStore,
    Snapshot,
    StoredEvent,
    UnknownEventType,
    check_append,
    check_stream_id,
    check_whole,
    closed_error,
)

APPLICATION_ID = 0x45444131  # "EDA1" in the file header: marks the file as one of our stores
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE events (
    position  INTEGER PRIMARY KEY,  -- the global order: 1, 2, 3, ...
    stream_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,     -- 1, 2, 3, ... within the stream
    type      TEXT    NOT NULL,
    data      TEXT    NOT NULL,     -- CloudEvents structured-mode JSON
    UNIQUE (stream_id, version)
);
CREATE TABLE snapshots (
    stream_id TEXT PRIMARY KEY,
    version   INTEGER NOT NULL,
    state     BLOB    NOT NULL,
    schema    INTEGER NOT NULL      -- the aggregate's snapshot_version
);
CREATE TABLE checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""
_INSERT = "INSERT INTO events (stream_id, version, type, data) VALUES (?, ?, ?, ?)"
_VERSIONS = (
    "SELECT (SELECT max(version) FROM events WHERE stream_id = ?),"
    " (SELECT max(position) FROM events)"
)
_COLUMNS = "SELECT stream_id, version, position, data FROM events"


def _use_wal(db: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch the file to WAL mode (once per file; it stays). The switch needs the file to
    itself and does not wait for it, so it is tried again while another process has it open."""
    for attempt in range(attempts):
        if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


def _stored(row: tuple[str, int, int, str]) -> StoredEvent:
    stream_id, version, position, data = row
    try:
        event = from_cloudevent(from_json(data))
    except InvalidEvent as error:
        if error.problem == "unknown_type":
            raise UnknownEventType.on_read(position, error) from None
        raise
    return StoredEvent(stream_id, version, position, event)


class SQLiteEventStore:
    """The event store in a SQLite file, created on first use. Close it (or use `with`) when
    done; several stores, in one process or many, may share a file."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_s)
        except sqlite3.Error as error:
            raise NotAStore(
                f"cannot open '{self.path}' as an event store: {error}. "
                "Fix: check that its folder exists and can be written to"
            ) from None
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        self._db = db

    def _prepare(self, db: sqlite3.Connection) -> None:
        application_id, schema, tables = self._header(db)
        if application_id == 0 and tables == 0:
            self._create(db)
            application_id, schema, tables = self._header(db)
        if application_id != APPLICATION_ID:
            raise NotAStore(
                f"'{self.path}' is a SQLite database but not an event store. "
                "Fix: give the path of a store, or a new file name to create one"
            )
        if schema > SCHEMA_VERSION:
            raise NotAStore(
                f"'{self.path}' is an event store of schema version {schema}, newer than the "
                f"version {SCHEMA_VERSION} this library reads. Fix: upgrade eda-notebooks"
            )
        _use_wal(db)
        db.execute("PRAGMA synchronous = FULL")

    def _header(self, db: sqlite3.Connection) -> tuple[int, int, int]:
        try:
            application_id, schema, tables = db.execute(
                "SELECT (SELECT application_id FROM pragma_application_id),"
                " (SELECT user_version FROM pragma_user_version),"
                " (SELECT count(*) FROM sqlite_schema)"
            ).fetchone()
        except sqlite3.DatabaseError as error:
            raise NotAStore(
                f"'{self.path}' is not an event store ({error}). "
                "Fix: give the path of a store, or a new file name to create one"
            ) from None
        return int(application_id), int(schema), int(tables)

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        # Under the write lock, and only if the file is still empty then: two processes opening a
        # new file at once must not both create the tables.
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def __repr__(self) -> str:
        state = "closed" if self._db is None else f"{self.last_position()} events"
        return f"SQLiteEventStore('{self.path}', {state})"

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise closed_error()
        return self._db

    def append(
        self, stream_id: str, events: Sequence[Event], expected_version: int
    ) -> list[StoredEvent]:
        db = self._conn
        batch = check_append(stream_id, events, expected_version)
        rows = [
            (stream_id, expected_version + n, event.event_type, serialize(event).decode())
            for n, event in enumerate(batch, start=1)
        ]
        db.execute("BEGIN IMMEDIATE")  # the write lock first, so the check below still holds
        try:
            actual, last = db.execute(_VERSIONS, (stream_id,)).fetchone()
            if (actual or 0) != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual or 0)
            db.executemany(_INSERT, rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        first = (last or 0) + 1  # rowids follow the largest one, and we held the write lock
        return [
            StoredEvent(stream_id, expected_version + 1 + n, first + n, event)
            for n, event in enumerate(batch)
        ]

    def version(self, stream_id: str) -> int:
        row = self._conn.execute(
            "SELECT max(version) FROM events WHERE stream_id = ?", (check_stream_id(stream_id),)
        ).fetchone()
        return int(row[0] or 0)

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        db = self._conn
        check_whole(from_version, "from_version", least=1)
        rows = db.execute(
            f"{_COLUMNS} WHERE stream_id = ? AND version >= ? ORDER BY version",
            (check_stream_id(stream_id), from_version),
        )
        return [_stored(row) for row in rows]

    def read_all(self, from_position: int = 1, limit: int | None = None) -> list[StoredEvent]:
        db = self._conn
        check_whole(from_position, "from_position", least=1)
        count = -1 if limit is None else check_whole(limit, "limit", least=0)
        rows = db.execute(
            f"{_COLUMNS} WHERE position >= ? ORDER BY position LIMIT ?", (from_position, count)
        )
        return [_stored(row) for row in rows]

    def last_position(self) -> int:
        return int(self._conn.execute("SELECT max(position) FROM events").fetchone()[0] or 0)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
            (
                check_stream_id(snapshot.stream_id),
                snapshot.version,
                snapshot.state,
                snapshot.schema,
            ),
        )

    def load_snapshot(self, stream_id: str) -> Snapshot | None:
        row = self._conn.execute(
            "SELECT version, state, schema FROM snapshots WHERE stream_id = ?",
            (check_stream_id(stream_id),),
        ).fetchone()
        return None if row is None else Snapshot(stream_id, *row)

    def checkpoint(self, name: str) -> int:
        row = self._conn.execute(
            "SELECT position FROM checkpoints WHERE name = ?", (name,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def save_checkpoint(self, name: str, position: int) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO checkpoints VALUES (?, ?)",
            (name, check_whole(position, "position", least=0)),
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Self:
        self._conn  # noqa: B018  (refuses a closed store)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
