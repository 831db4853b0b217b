"""Where event times and ids come from: the real clock by default, a virtual one when a lesson
must print the same thing on every run (lesson 00 explains why)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol

COURSE_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def timestamp(self) -> float:
        """Now, as seconds since 1970 (what a trace stamps its hops with: cheaper than `now`)."""
        ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()


class VirtualClock:
    """Time that moves only when told to, so a lesson can simulate an hour of waiting instantly."""

    def __init__(self, start: datetime = COURSE_START) -> None:
        if start.tzinfo is None:
            raise ValueError(
                "VirtualClock needs a timezone-aware start, e.g. datetime(..., tzinfo=UTC)"
            )
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError(f"time cannot go backwards: advance by seconds >= 0, not {seconds}")
        self._now += timedelta(seconds=seconds)
        return self._now


class IdSource:
    """Random version-4 UUIDs; seeded, the same sequence every run."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = None if seed is None else random.Random(seed)

    def new(self) -> uuid.UUID:
        if self._rng is None:
            return uuid.uuid4()
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)


# Module globals, not context variables: IPython may run each cell in its own task, and a
# context variable set in one cell would not be seen in the next.
_clock: Clock = SystemClock()
_ids = IdSource()


def now() -> datetime:
    """The current time of the default clock (what new events are stamped with)."""
    return _clock.now()


def new_id() -> uuid.UUID:
    """A new event id from the default id source."""
    return _ids.new()


def default_clock() -> Clock:
    return _clock


def clock_of(broker: object) -> Clock:
    """The clock a broker stamps with (eda_lib's brokers have one; the teaching core's has
    none, and its clients then wait on the default clock)."""
    found = getattr(broker, "clock", None)
    return found if found is not None and hasattr(found, "now") else default_clock()


class reproducible:
    """Make event ids and times repeatable: seeded ids and a virtual clock, from now on.

    Call it once at the top of a notebook, or use it as a context manager in a test to restore
    the real clock and random ids afterwards.
    """

    def __init__(self, seed: int = 0, start: datetime = COURSE_START) -> None:
        global _clock, _ids
        self._previous = (_clock, _ids)
        self.clock = VirtualClock(start)
        self.seed = seed
        _clock, _ids = self.clock, IdSource(seed)

    def __repr__(self) -> str:
        return f"reproducible(seed={self.seed}, virtual clock at {self.clock.now().isoformat()})"

    def __enter__(self) -> reproducible:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _clock, _ids
        _clock, _ids = self._previous
