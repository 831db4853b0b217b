"""Aggregates (lessons 05 and 09): state that is only ever changed by events.

A command method checks the rules against the current state and, if they hold, records an event
with `record`; `apply` is the one place where an event changes the state, and it runs only for
an event being recorded or replayed. Replaying the same events therefore always rebuilds the same
state, which is what event sourcing relies on. Setting an attribute anywhere else, or calling
`apply` directly, raises `StateChangedOutsideEvent`. (State kept in a list or dict could still be
changed in place; the aggregates here keep only plain values.)
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import orjson

from eda_lib.events import Event

_BOOKKEEPING = frozenset({"id", "version"})


class RuleBroken(Exception):
    """A command refused because a business rule does not allow it in the current state."""

    def __init__(self, rule: str, *, fix: str) -> None:
        self.rule = rule
        self.fix = fix
        super().__init__(f"{rule}. Fix: {fix}")


class StateChangedOutsideEvent(AttributeError):
    """State set outside `apply`: a change no event records, so a replay would not repeat it."""


class UnexpectedEvent(TypeError):
    """`apply` was given an event the aggregate does not know."""


def _only_for_events(method: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(method)
    def wrapper(self: Aggregate, event: Event) -> None:
        if not self.__dict__.get("_applying"):
            raise StateChangedOutsideEvent(
                f"{type(self).__name__}.apply runs only for events being recorded or replayed. "
                "Fix: call a command method (which records an event), or Aggregate.from_events"
            )
        method(self, event)

    return wrapper


def _changing_state(method: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(method)
    def wrapper(self: Aggregate, *args: Any, **kwargs: Any) -> None:
        depth = self.__dict__.get("_changing", 0)
        object.__setattr__(self, "_changing", depth + 1)
        try:
            method(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_changing", depth)

    return wrapper


class Aggregate(ABC):
    """Base of event-sourced aggregates. Subclasses set their initial state in `__init__`,
    write command methods that call `record(event)`, and write `apply(event)`."""

    stream_prefix: ClassVar[str] = ""
    """Streams are named `<stream_prefix>-<id>`; the default is the class name in lower case."""
    snapshot_version: ClassVar[int] = 1
    """Raise it when the state's shape or `apply` changes: older snapshots are then ignored, and
    a load replays the whole stream instead."""

    id: str
    version: int
    _pending: list[Event]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("stream_prefix"):
            cls.stream_prefix = cls.__name__.lower()
        for name in ("__init__", "apply", "restore_state"):
            if name in cls.__dict__:  # the only places where state may be set
                setattr(cls, name, _changing_state(cls.__dict__[name]))
        if "apply" in cls.__dict__:
            cls.apply = _only_for_events(cls.__dict__["apply"])  # type: ignore[method-assign]

    def __init__(self, aggregate_id: str) -> None:
        if not isinstance(aggregate_id, str) or not aggregate_id:
            raise ValueError(
                f"an aggregate id must be a non-empty string, got {aggregate_id!r}. "
                "Fix: pass the id as text, e.g. '42'"
            )
        object.__setattr__(self, "id", aggregate_id)
        object.__setattr__(self, "version", 0)
        object.__setattr__(self, "_pending", [])

    def __setattr__(self, name: str, value: Any) -> None:
        if not self.__dict__.get("_changing", 0):
            raise StateChangedOutsideEvent(
                f"{type(self).__name__}.{name} can only change when an event is applied. "
                "Fix: in a command method, record an event (self.record(...)), and set "
                f"{name} in apply() when that event arrives"
            )
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        state = ", ".join(f"{k}={v!r}" for k, v in self.state().items())
        return f"{type(self).__name__}(id={self.id!r}, version={self.version}, {state})"

    @property
    def stream_id(self) -> str:
        return f"{self.stream_prefix}-{self.id}"

    @abstractmethod
    def apply(self, event: Event) -> None:
        """Change the state as `event` says. Subclasses write it, usually as a `match`; a
        subclass without it cannot be made."""

    def unexpected(self, event: Event) -> UnexpectedEvent:
        """The error for the last case of `apply`: an event this aggregate does not handle."""
        return UnexpectedEvent(
            f"{type(self).__name__} has no rule for {event.event_type}. "
            f"Fix: add a case for {type(event).__name__} to {type(self).__name__}.apply"
        )

    def record(self, event: Event) -> None:
        """Apply a new event and keep it until the repository saves it."""
        cause = self.__dict__.get("_cause")
        if cause is not None and event.causation_id is None:
            fields = event.model_dump(exclude={"id", "time", "correlation_id", "causation_id"})
            event = cause.follow_up(type(event), **fields)
        self._replay_one(event)
        self._pending.append(event)

    @contextmanager
    def caused_by(self, cause: Event) -> Iterator[None]:
        """Within it, every event recorded joins `cause`'s chain: it carries `cause`'s
        correlation id, and `cause` as its causation id (lesson 15: an order cancelled because
        its payment failed is part of that payment's story)."""
        previous = self.__dict__.get("_cause")
        object.__setattr__(self, "_cause", cause)
        try:
            yield
        finally:
            object.__setattr__(self, "_cause", previous)

    def _replay_one(self, event: Event) -> None:
        object.__setattr__(self, "_applying", True)
        try:
            self.apply(event)
        finally:
            object.__setattr__(self, "_applying", False)
        object.__setattr__(self, "version", self.version + 1)

    @classmethod
    def from_events(cls, aggregate_id: str, events: Iterable[Event]) -> Self:
        """The aggregate as these events (its history, oldest first) leave it."""
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate._replay_one(event)
        return aggregate

    @property
    def pending_events(self) -> tuple[Event, ...]:
        """Events recorded since the aggregate was loaded or last saved."""
        return tuple(self._pending)

    def mark_saved(self) -> None:
        self._pending.clear()

    def state(self) -> dict[str, Any]:
        """The aggregate's own state: its public attributes, without id and version."""
        return {
            k: v for k, v in vars(self).items() if not k.startswith("_") and k not in _BOOKKEEPING
        }

    def snapshot_state(self) -> bytes:
        """The state as JSON for a snapshot. Override this and `restore_state` if the state
        holds values JSON does not bring back as they were (datetimes, sets, tuples)."""
        return orjson.dumps(self.state())

    @_changing_state
    def restore_state(self, state: bytes) -> None:
        for name, value in orjson.loads(state).items():
            setattr(self, name, value)

    @classmethod
    def from_snapshot(cls, aggregate_id: str, version: int, state: bytes) -> Self:
        aggregate = cls(aggregate_id)
        aggregate.restore_state(state)
        object.__setattr__(aggregate, "version", version)
        return aggregate
