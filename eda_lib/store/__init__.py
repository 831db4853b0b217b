"""Event stores (lessons 05 and 09): the protocol, an in-memory store, a SQLite store, and a
catch-up subscription that reads the whole log and then follows new appends."""

from eda_lib.store.base import (
    ConcurrencyError,
    EmptyAppend,
    EventStore,
    InvalidVersion,
    NotAnEvent,
    NotAStore,
    Snapshot,
    StoreClosed,
    StoredEvent,
    StoreError,
    UnknownEventType,
)
from eda_lib.store.memory import InMemoryEventStore
from eda_lib.store.sqlite import SQLiteEventStore
from eda_lib.store.subscription import Subscription

__all__ = [
    "ConcurrencyError",
    "EmptyAppend",
    "EventStore",
    "InMemoryEventStore",
    "InvalidVersion",
    "NotAStore",
    "NotAnEvent",
    "SQLiteEventStore",
    "Snapshot",
    "StoreClosed",
    "StoreError",
    "StoredEvent",
    "Subscription",
    "UnknownEventType",
]
