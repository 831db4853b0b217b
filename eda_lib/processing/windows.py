"""Event-time windows (lesson 14): tumbling windows that tile time, sliding windows that
overlap, and the event a window's count becomes when it closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, NamedTuple

from eda_lib.events import Event, NonEmptyStr, UtcDatetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # windows are aligned to it, as Kafka Streams' are


class Window(NamedTuple):  # a tuple: made and hashed for every event counted
    """The half-open span of event time [start, end)."""

    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"[{self.start:%H:%M:%S}, {self.end:%H:%M:%S})"


def _positive(name: str, value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError(
            f"{name} must be a positive timedelta, e.g. timedelta(seconds=10); not {value!r}"
        )


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + (moment - _EPOCH) // step * step


@dataclass(frozen=True)
class Tumbling:
    """Back-to-back windows of `size`: each event falls in exactly one."""

    size: timedelta

    def __post_init__(self) -> None:
        _positive("size", self.size)

    def windows(self, moment: datetime) -> tuple[Window, ...]:
        start = _floor(moment, self.size)
        return (Window(start, start + self.size),)


@dataclass(frozen=True)
class Sliding:
    """Windows of `size` starting every `every`: each event falls in size / every of them
    (a 60 s window every 20 s holds each event in three windows)."""

    size: timedelta
    every: timedelta

    def __post_init__(self) -> None:
        _positive("size", self.size)
        _positive("every", self.every)
        if self.size % self.every:
            raise ValueError(
                f"size ({self.size}) must be a whole number of steps ({self.every}), so that "
                "windows line up; e.g. size 60 s every 20 s"
            )

    def windows(self, moment: datetime) -> tuple[Window, ...]:
        last = _floor(moment, self.every)
        steps = self.size // self.every
        return tuple(
            Window(last - n * self.every, last - n * self.every + self.size)
            for n in reversed(range(steps))
        )


class WindowCounted(Event):
    """What a window's count becomes once the window closes: how many events with `key` fell
    in [window_start, window_end), and the sum of their values. Its id is made from the
    processor, the key and the window, so a window emitted again after a crash has the same id
    and an idempotent reader keeps it once."""

    default_source: ClassVar[str] = "/stream-processor"
    subject_field: ClassVar[str | None] = "counted_key"

    processor: NonEmptyStr
    counted_key: NonEmptyStr
    window_start: UtcDatetime
    window_end: UtcDatetime
    count: int
    total: int
    source_partition: int
    """The input partition whose events were counted (a key's events are on one, if keyed)."""
    read_through: int
    """The next offset of that partition the processor was to read when it published this:
    after a crash, what lies before it was read already."""
