"""Self-checking exercises of lesson 09 (event sourcing in practice): a command retried on a
conflict, and SQL over the event store's table."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eda_lib.domain.orders import Order, OrderApproved
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.sourcing.repository import Repository
from eda_lib.store.base import ConcurrencyError, StoredEvent
from eda_lib.store.memory import InMemoryEventStore
from eda_lib.store.sqlite import SQLiteEventStore


class _Competitor(Repository[Order]):
    """Saves someone else's approval the first time the learner saves: a race, on purpose."""

    raced = False
    loads = 0

    def load(self, aggregate_id: str, *, at_version: int | None = None) -> Order:
        self.loads += 1
        return super().load(aggregate_id, at_version=at_version)

    def save(self, aggregate: Order) -> list[StoredEvent]:
        if not self.raced:
            self.raced = True
            self.store.append(aggregate.stream_id, [OrderApproved(order_id=aggregate.id)], 1)
        return super().save(aggregate)


def check_retry_on_conflict(approve_with_retry: Callable[[Repository[Order], str], Any]) -> Check:
    """Lesson 09, exercise 1: approve an order; if someone saved it in between, load it again
    and decide again, instead of failing or writing over their change."""
    store = InMemoryEventStore()
    orders = _Competitor(store, Order)
    Repository(store, Order).save(Order.place("77", "ada", 4_200))
    try:
        approve_with_retry(orders, "77")
    except ConcurrencyError:
        return fail(
            "the ConcurrencyError escaped",
            "catch it, orders.load(order_id) again, approve again, save again",
        )
    except Exception as error:
        return crashed(error, "only ConcurrencyError is expected here")
    if orders.loads < 2:
        return fail(
            "after the ConcurrencyError the order was not loaded again",
            "the refusal means your decision was made on old state: load, decide, save again",
        )
    history = [type(s.event).__name__ for s in store.read_stream("order-77")]
    if history != ["OrderCreated", "OrderApproved"]:
        return fail(
            f"the stream is {history}",
            "after loading again the order is approved already: approve() records nothing",
        )
    return Check(True, "the conflict was retried on fresh state; the order is approved once")


CANCELLATIONS_BY_REASON = (
    "SELECT json_extract(data, '$.data.reason') AS reason, count(*) FROM events "
    "WHERE type = 'OrderCancelled' GROUP BY reason ORDER BY reason"
)


def check_cancellation_query(sql: str) -> Check:
    """Lesson 09, exercise 2: SQL over the store's `events` table that counts cancelled orders
    by reason, as rows (reason, count) sorted by reason."""
    reasons = ["out of stock", "customer called", "out of stock", "fraud", "out of stock"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.db"
        with SQLiteEventStore(path) as store:
            orders = Repository(store, Order)
            for n, reason in enumerate(reasons):
                order = Order.place(f"q{n}", "ada", 100 + n)
                order.cancel(reason)
                orders.save(order)
            orders.save(Order.place("q9", "bob", 999))
        with sqlite3.connect(path) as db:
            expected = db.execute(CANCELLATIONS_BY_REASON).fetchall()
            try:
                got = db.execute(sql).fetchall()
            except (sqlite3.Error, ValueError, TypeError) as error:
                return fail(f"SQLite refused the query: {error}", "try it in small steps")
    if [tuple(row) for row in got] != expected:
        return fail(
            f"the query returned {got}, expected {expected}",
            "json_extract(data, '$.data.reason'), WHERE type = 'OrderCancelled', GROUP BY",
        )
    return Check(True, f"cancellations by reason: {expected}")
