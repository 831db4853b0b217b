"""What every event store offers (lessons 05 and 09): streams of events with versions, one
global order over all of them, optimistic concurrency, snapshots and named checkpoints.

`InMemoryEventStore` and `SQLiteEventStore` both implement `EventStore`; one contract test case
runs against both. A stream's version is the number of events in it: a new stream is at version
0, its first event has version 1. Global positions start at 1 and never repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, Self

from eda_lib.events import Event, InvalidEvent, is_registered


class StoreError(Exception):
    """Anything an event store refuses. The message says what was wrong and how to fix it."""


class ConcurrencyError(StoreError):
    """Someone appended to the stream since you read it: your decision was made on old state."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream '{stream_id}' is at version {actual}, not the expected version {expected}. "
            "Fix: load the stream again (its new events included), decide again, and append "
            f"with expected_version={actual}"
        )


class InvalidVersion(StoreError, ValueError):
    """A version or position that is not a whole number of the right size."""


class EmptyAppend(StoreError, ValueError):
    """An append with no events in it."""


class NotAnEvent(StoreError, TypeError):
    """Something other than an `eda_lib.Event` was given to append."""


class StoreClosed(StoreError):
    """The store was used after `close()` (or after its `with` block ended)."""


class NotAStore(StoreError):
    """The file is not an event store, or a store of a newer schema than this library reads."""


class UnknownEventType(StoreError):
    """An event whose type no loaded class defines: it could be stored but never read back."""

    @classmethod
    def on_read(cls, position: int, error: InvalidEvent) -> UnknownEventType:
        return cls(
            f"the event at position {position} cannot be read: {error.detail}. Fix: import the "
            "module that defines that event class before reading (or define the class again)"
        )

    @classmethod
    def on_append(cls, event: Event) -> UnknownEventType:
        return cls(
            f"{type(event).__name__} is not a registered event type, so it could never be read "
            "back. Fix: store only public event classes (names without a leading underscore)"
        )


class StoredEvent(NamedTuple):  # a tuple: one is made for every event read, so it must be cheap
    """An event as the store keeps it: which stream, its version there, its global position."""

    stream_id: str
    version: int
    position: int
    event: Event


class Snapshot(NamedTuple):
    """The state of a stream's aggregate after `version` events, saved to shorten replays;
    `schema` is the aggregate class's `snapshot_version` when it was taken."""

    stream_id: str
    version: int
    state: bytes
    schema: int = 1


def check_whole(value: Any, what: str, *, least: int) -> int:
    """`value` if it is an int of at least `least`; otherwise an `InvalidVersion` with the fix."""
    if type(value) is not int:
        raise InvalidVersion(
            f"{what} must be a whole number (int), got {value!r} of type {type(value).__name__}. "
            f"Fix: pass an int such as {least}"
        )
    if value < least:
        raise InvalidVersion(f"{what} must be at least {least}, got {value}. Fix: pass {least}")
    return value


def check_stream_id(stream_id: Any) -> str:
    if not isinstance(stream_id, str) or not stream_id:
        raise StoreError(
            f"a stream id must be a non-empty string, got {stream_id!r}. "
            "Fix: name the stream after what it records, e.g. 'order-42'"
        )
    return stream_id


def check_append(stream_id: Any, events: Any, expected_version: Any) -> tuple[Event, ...]:
    """The events of an append, after checking every argument (before anything is written)."""
    check_stream_id(stream_id)
    check_whole(expected_version, "expected_version", least=0)
    if isinstance(events, Event):
        raise NotAnEvent("append takes a sequence of events, got a single event. Fix: pass [event]")
    batch = tuple(events)
    if not batch:
        raise EmptyAppend(
            f"nothing to append to '{stream_id}'. Fix: pass at least one event "
            "(a command that changes nothing records no event and needs no append)"
        )
    for event in batch:
        if not isinstance(event, Event):
            raise NotAnEvent(
                f"append takes eda_lib events, got {event!r} of type {type(event).__name__}. "
                "Fix: define the event as a subclass of eda_lib.Event"
            )
        if not is_registered(event.event_type):
            raise UnknownEventType.on_append(event)
    return batch


def closed_error() -> StoreClosed:
    return StoreClosed(
        "the event store is closed. Fix: open it again, or use it inside its 'with' block"
    )


class EventStore(Protocol):
    """An append-only log of events in streams, with optimistic concurrency."""

    def append(
        self, stream_id: str, events: Sequence[Event], expected_version: int
    ) -> list[StoredEvent]:
        """Append all of `events` to the stream, or none: only if the stream is still at
        `expected_version` (0 for a new stream), else `ConcurrencyError`."""
        ...

    def version(self, stream_id: str) -> int:
        """How many events the stream holds (0 if it has none)."""
        ...

    def read_stream(self, stream_id: str, from_version: int = 1) -> list[StoredEvent]:
        """The stream's events from `from_version` on, oldest first."""
        ...

    def read_all(self, from_position: int = 1, limit: int | None = None) -> list[StoredEvent]:
        """Every stream's events from `from_position` on, in global order."""
        ...

    def last_position(self) -> int:
        """The global position of the newest event (0 if the store is empty)."""
        ...

    def save_snapshot(self, snapshot: Snapshot) -> None: ...

    def load_snapshot(self, stream_id: str) -> Snapshot | None: ...

    def checkpoint(self, name: str) -> int:
        """The last position the reader `name` has finished (0 if it never saved one)."""
        ...

    def save_checkpoint(self, name: str, position: int) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...
