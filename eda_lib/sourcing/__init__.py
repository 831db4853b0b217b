"""Event sourcing (lessons 05 and 09): aggregates whose state only events change, a repository
that loads them by replay and saves them with optimistic concurrency, snapshots, and an outbox
that publishes what the store holds."""

from eda_lib.sourcing.aggregate import (
    Aggregate,
    RuleBroken,
    StateChangedOutsideEvent,
    UnexpectedEvent,
)
from eda_lib.sourcing.outbox import Outbox, OutboxCrash, OutboxReport
from eda_lib.sourcing.repository import AggregateNotFound, Repository

__all__ = [
    "Aggregate",
    "AggregateNotFound",
    "Outbox",
    "OutboxCrash",
    "OutboxReport",
    "Repository",
    "RuleBroken",
    "StateChangedOutsideEvent",
    "UnexpectedEvent",
]
