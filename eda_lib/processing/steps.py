"""Stateless steps of a stream processor (lesson 14): each takes one event and returns the event
to pass on, or None to drop it. They compose in a list, applied in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eda_lib.events import Event

Step = Callable[[Event], Event | None]
"""One stateless step: the event to pass on (the same, or a new one), or None to drop it."""


def keep(predicate: Callable[[Event], bool]) -> Step:
    """Pass on the events for which `predicate` is true (a filter)."""

    def step(event: Event) -> Event | None:
        return event if predicate(event) else None

    return step


def transform(function: Callable[[Event], Event]) -> Step:
    """Pass on `function(event)` instead of the event (a map)."""

    def step(event: Event) -> Event | None:
        return function(event)

    return step


def enrich(
    table: Mapping[str, Any],
    key: Callable[[Event], str],
    build: Callable[[Event, Any], Event],
) -> Step:
    """Look the event up in `table` by `key(event)` and pass on `build(event, row)`: a join with
    a table held in memory. An event with no row is dropped (an inner join)."""

    def step(event: Event) -> Event | None:
        row = table.get(key(event))
        return None if row is None else build(event, row)

    return step


def apply(steps: list[Step] | tuple[Step, ...], event: Event) -> Event | None:
    """The event after every step, or None as soon as one drops it."""
    current: Event | None = event
    for step in steps:
        if current is None:
            return None
        current = step(current)
    return current
