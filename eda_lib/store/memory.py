"""An event store in a Python list (lessons 05 and 09): what `SQLiteEventStore` does, without
the file. Gone when the kernel stops; use it to learn and to test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from eda_lib.events import Event
from eda_lib.store.base import (
    ConcurrencyError,
    Snapshot,
    StoredEvent,
    check_append,
    check_stream_id,
    check_whole,
    closed_error,
)


class InMemoryEventStore:
    """Streams and one global log, kept in memory. Events are immutable, so they are kept as
    they are; the SQLite store keeps their CloudEvents JSON."""

    def __init__(self) -> None:
        self._log: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._checkpoints: dict[str, int] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"InMemoryEventStore({len(self._streams)} streams, {len(self._log)} events)"

    def _open(self) -> None:
        if self._closed:
            raise closed_error()

    def append(
        self, stream_id: str, events: Sequence[Event], expected_version: int
    ) -> list[StoredEvent]:
        self._open()
        batch = check_append(stream_id, events, expected_version)
        stream = self._streams.get(stream_id)
        actual = len(stream) if stream else 0
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        position = len(self._log)
        stored = [
            StoredEvent(stream_id, expected_version + n, position + n, event)
            for n, event in enumerate(batch, start=1)
        ]
        if stream is None:
            self._streams[stream_id] = list(stored)
        else:
            stream.extend(stored)
        self._log.extend(stored)
        return stored

    def version(self, stream_id: str) -> int:
        self._open()
        return len(self._streams.get(check_stream_id(stream_id), ()))

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        self._open()
        check_whole(from_version, "from_version", least=1)
        return self._streams.get(check_stream_id(stream_id), [])[from_version - 1 :]

    def read_all(self, from_position: int = 1, limit: int | None = None) -> list[StoredEvent]:
        self._open()
        start = check_whole(from_position, "from_position", least=1) - 1
        if limit is None:
            return self._log[start:]
        return self._log[start : start + check_whole(limit, "limit", least=0)]

    def last_position(self) -> int:
        self._open()
        return len(self._log)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._open()
        self._snapshots[check_stream_id(snapshot.stream_id)] = snapshot

    def load_snapshot(self, stream_id: str) -> Snapshot | None:
        self._open()
        return self._snapshots.get(check_stream_id(stream_id))

    def checkpoint(self, name: str) -> int:
        self._open()
        return self._checkpoints.get(name, 0)

    def save_checkpoint(self, name: str, position: int) -> None:
        self._open()
        self._checkpoints[name] = check_whole(position, "position", least=0)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
