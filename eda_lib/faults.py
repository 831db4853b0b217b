"""Faults as data (lesson 12): where a consumer dies, so the delivery semantics can be compared
on exactly the same failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eda_lib.events import Event


@dataclass
class CrashOnce:
    """True the first time an event with a matching payment or order id (or any event, with no
    ids) comes by, then never again for that event: a process dies once, then restarts."""

    ids: frozenset[str] = frozenset()
    _fired: set[object] = field(default_factory=set)

    def __call__(self, event: Event) -> bool:
        keys = {getattr(event, name, None) for name in ("payment_id", "order_id")}
        if (self.ids and not self.ids & keys) or event.id in self._fired:
            return False
        self._fired.add(event.id)
        return True


@dataclass
class ConsumerFaults:
    """Where a consumer crashes: right after handling an event but before committing it (the
    effect happened; the broker does not know), or right after committing it."""

    crash_before_commit: Callable[[Event], bool] | None = None
    crash_after_commit: Callable[[Event], bool] | None = None
