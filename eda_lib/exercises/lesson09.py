"""Self-checking exercises of lesson 09 (event sourcing in practice): a command retried on a
conflict, and SQL over the event store's table."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eda_lib.domain.orders import Order, OrderApproved, OrderCancelled
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.sourcing.aggregate import RuleBroken
from eda_lib.sourcing.repository import Repository
from eda_lib.store.base import ConcurrencyError, StoredEvent
from eda_lib.store.memory import InMemoryEventStore
from eda_lib.store.sqlite import SQLiteEventStore


class _CountedOrder(Order):
    """An order that counts the decisions taken on it, so the check sees a decision made again."""

    stream_prefix = "order"
    approvals = 0

    def approve(self) -> None:
        _CountedOrder.approvals += 1
        super().approve()


MOST_ATTEMPTS = 10
"""How many loads and saves the check lets a retry make: the task asks for two attempts (one
retry); more is allowed, but a retry with no limit at all is stopped here and refused."""


class _TooManyAttempts(BaseException):
    """Stops a retry that goes on past MOST_ATTEMPTS. A BaseException, so that a learner's
    `except Exception:` does not catch it and keep the check running for ever."""


class _Counted(Repository[Order]):
    """A repository that counts the learner's loads and saves, and stops a retry that goes on
    past MOST_ATTEMPTS of either."""

    def __init__(self, store: InMemoryEventStore) -> None:
        super().__init__(store, _CountedOrder)
        self.loads = 0
        self.saves = 0
        _CountedOrder.approvals = 0

    def load(self, aggregate_id: str, *, at_version: int | None = None) -> Order:
        self.loads += 1
        if self.loads > MOST_ATTEMPTS:
            raise _TooManyAttempts
        return super().load(aggregate_id, at_version=at_version)

    def count_save(self) -> None:
        self.saves += 1
        if self.saves > MOST_ATTEMPTS:
            raise _TooManyAttempts


class _Competitor(_Counted):
    """Saves someone else's change the first time the learner saves: a race, on purpose. By
    default the competitor approves too; with `cancels`, it cancels the order."""

    def __init__(self, store: InMemoryEventStore, *, cancels: bool = False) -> None:
        super().__init__(store)
        self.cancels = cancels
        self.raced = False

    def save(self, aggregate: Order) -> list[StoredEvent]:
        self.count_save()
        if not self.raced:
            self.raced = True
            theirs = (
                OrderCancelled(order_id=aggregate.id, reason="the customer called")
                if self.cancels
                else OrderApproved(order_id=aggregate.id)
            )
            self.store.append(aggregate.stream_id, [theirs], 1)
        return super().save(aggregate)


class _AlwaysFirst(_Counted):
    """A competitor that wins every race: each save is answered as a store answers when someone
    else saved first, with a ConcurrencyError (nothing is stored, so the order can be approved
    again at every attempt)."""

    def save(self, aggregate: Order) -> list[StoredEvent]:
        self.count_save()
        loaded_at = aggregate.version - len(aggregate.pending_events)
        raise ConcurrencyError(aggregate.stream_id, loaded_at, loaded_at + 1)


def _endless(when: str) -> Check:
    return fail(
        f"{when}, your code tried more than {MOST_ATTEMPTS} times and would have gone on for ever",
        "catch only ConcurrencyError and retry a fixed number of times, e.g. "
        "`for attempt in (1, 2):`; when the last save is refused too, let its ConcurrencyError "
        "reach the caller (`raise`)",
    )


def check_retry_on_conflict(approve_with_retry: Callable[[Repository[Order], str], Any]) -> Check:
    """Lesson 09, exercise 1: approve an order; if someone saved it in between, load it again
    and decide again, instead of failing or writing over their change; and when the saves keep
    being refused, give up after a few attempts and let the ConcurrencyError reach the caller."""
    store = InMemoryEventStore()
    orders = _Competitor(store)
    Repository(store, Order).save(Order.place("77", "ada", 4_200))
    try:
        approve_with_retry(orders, "77")
    except _TooManyAttempts:
        return _endless("when someone else approved the order first")
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
    return _check_decided_again(approve_with_retry)


def _check_decided_again(approve_with_retry: Callable[[Repository[Order], str], Any]) -> Check:
    """The same race, but the competitor cancels: approving on fresh state must be refused
    (RuleBroken), so a retry that only loads again, or saves its old decision, shows."""
    store = InMemoryEventStore()
    orders = _Competitor(store, cancels=True)
    Repository(store, Order).save(Order.place("78", "ada", 4_200))
    refused = False
    try:
        approve_with_retry(orders, "78")
    except _TooManyAttempts:
        return _endless("when someone else cancelled the order first")
    except RuleBroken:
        refused = True  # approving a cancelled order is refused: the right decision on fresh state
    except Exception as error:
        return crashed(error, "only ConcurrencyError, and then the order's own rules, apply")
    history = [type(s.event).__name__ for s in store.read_stream("order-78")]
    if history != ["OrderCreated", "OrderCancelled"]:
        return fail(
            f"when the competitor cancelled the order, its stream became {history}",
            "load again and approve again: a cancelled order refuses approve() (RuleBroken)",
        )
    if _CountedOrder.approvals < 2:
        return fail(
            "when the competitor cancelled the order, your code loaded it again but did not "
            "decide again",
            "after loading, call order.approve() again: on fresh state it sees the "
            "cancellation and refuses",
        )
    if not refused:
        return fail(
            "when the competitor cancelled the order, your code returned as if the approval "
            "went through",
            "let the order's refusal (RuleBroken) reach the caller: catch only "
            "ConcurrencyError, and only to try once more",
        )
    return _check_gives_up(approve_with_retry)


def _check_gives_up(approve_with_retry: Callable[[Repository[Order], str], Any]) -> Check:
    """Someone else saves first every time: a bounded retry gives up and lets the caller know
    (the ConcurrencyError reaches it); one without a limit would go on for ever."""
    store = InMemoryEventStore()
    Repository(store, Order).save(Order.place("79", "ada", 4_200))
    orders = _AlwaysFirst(store)
    try:
        approve_with_retry(orders, "79")
    except _TooManyAttempts:
        return _endless("when every save was refused")
    except ConcurrencyError:
        return Check(
            True,
            "the conflict was retried on fresh state and the order approved once; when every "
            f"save was refused, your code gave up after {orders.saves} attempts and let the "
            "ConcurrencyError reach the caller",
        )
    except Exception as error:
        return crashed(
            error, "when the last save is refused too, re-raise its ConcurrencyError (`raise`)"
        )
    return fail(
        f"when every save was refused, your code returned after {orders.saves} attempts as if "
        "the order was approved",
        "when the last save is refused too, let its ConcurrencyError reach the caller (`raise`)",
    )


CANCELLATIONS_BY_REASON = (
    "SELECT json_extract(data, '$.data.reason') AS reason, count(*) FROM events "
    "WHERE type = 'OrderCancelled' GROUP BY reason ORDER BY reason"
)


def check_cancellation_query(sql: str) -> Check:
    """Lesson 09, exercise 2: SQL over the store's `events` table that counts cancelled orders
    by reason, as rows (reason, count) sorted by reason. The data is chosen so that sorting by
    the count, or not sorting, gives rows in another order, and one approved order has no
    reason at all."""
    # by reason: address wrong 3, customer called 1, fraud 2, out of stock 1; by count, or in
    # the order they were stored, the rows would come in another order
    reasons = ["out of stock", "address wrong", "fraud", "address wrong", "customer called"]
    reasons += ["fraud", "address wrong"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.db"
        with SQLiteEventStore(path) as store:
            orders = Repository(store, Order)
            for n, reason in enumerate(reasons):
                order = Order.place(f"q{n}", "ada", 100 + n)
                order.cancel(reason)
                orders.save(order)
            approved = Order.place("q9", "bob", 999)
            approved.approve()
            orders.save(approved)
        with sqlite3.connect(path) as db:
            expected = db.execute(CANCELLATIONS_BY_REASON).fetchall()
            try:
                cursor = db.execute(sql)
                got, first_column = cursor.fetchall(), cursor.description[0][0]
            except (sqlite3.Error, ValueError, TypeError) as error:
                return fail(f"SQLite refused the query: {error}", "try it in small steps")
    if [tuple(row) for row in got] != expected:
        return fail(
            f"the query returned {got}, expected {expected}",
            "json_extract(data, '$.data.reason'), WHERE type = 'OrderCancelled', GROUP BY, "
            "ORDER BY",
        )
    key = _first_order_key(sql)
    if key is None:
        return fail(
            "the rows came sorted, but the query does not ask for it: SQLite's GROUP BY "
            "happens to sort here, and need not elsewhere",
            "end with ORDER BY reason",
        )
    if key not in {
        "1",
        "reason",
        _plain(first_column),
        _plain("json_extract(data,'$.data.reason')"),
    }:
        return fail(
            f"the query sorts by {key}, not by the reason: the rows come out right only "
            "because GROUP BY sorted them first",
            "ORDER BY reason (the reason column)",
        )
    return Check(True, f"cancellations by reason, sorted by reason: {expected}")


def _plain(text: str) -> str:
    return "".join(text.lower().split())


def _first_order_key(sql: str) -> str | None:
    """The first key of the query's last ORDER BY, comments left out, or None if it has none."""
    code = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)
    clauses = re.findall(r"\border\s+by\s+(.+?)(?:\blimit\b|;|$)", code, re.IGNORECASE | re.DOTALL)
    if not clauses:
        return None
    depth, first = 0, ""
    for char in clauses[-1]:  # up to the first comma outside brackets
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            break
        first += char
    key = re.sub(r"\s+collate\s+\w+", "", first, flags=re.IGNORECASE)  # the same key, compared
    key = re.sub(r'["`\[\]]', "", key)  # quoted names are the same names
    return re.sub(r"asc$", "", _plain(key))
