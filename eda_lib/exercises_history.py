"""Self-checking exercises of the event-sourcing and CQRS lessons (05, 09 and 10). Each check
runs the learner's code on a fresh store and says what was right, or what was wrong and a hint."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import reproducible
from eda_lib.cqrs.projections import Projection, Projector
from eda_lib.domain.accounts import AccountOpened, BankAccount, MoneyDeposited
from eda_lib.domain.order_commands import PlaceOrder, order_bus
from eda_lib.domain.orders import Order, OrderApproved
from eda_lib.events import Event
from eda_lib.exercises import Check, _fail
from eda_lib.labs.keying import keying_trial, order_history
from eda_lib.sourcing.aggregate import RuleBroken, StateChangedOutsideEvent
from eda_lib.sourcing.repository import Repository
from eda_lib.store.base import ConcurrencyError, StoredEvent
from eda_lib.store.memory import InMemoryEventStore
from eda_lib.store.sqlite import SQLiteEventStore


def _crashed(error: Exception, hint: str) -> Check:
    return _fail(f"your code raised {type(error).__name__}: {error}", hint)


# --- lesson 05 --------------------------------------------------------------------------------

DEPOSIT_LIMIT = 1_000_000


def check_deposit_limit(account_class: Any) -> Check:
    """Lesson 05, exercise 1: an account that refuses a deposit over 10,000.00 (1,000,000
    minor units), recording nothing, and takes any other deposit as before."""
    if not (isinstance(account_class, type) and issubclass(account_class, BankAccount)):
        return _fail(
            f"expected a subclass of BankAccount, got {account_class!r}",
            "class CappedAccount(BankAccount): with a deposit(self, amount) method",
        )
    try:
        account = account_class.open("cap-1", "ada")
        account.deposit(DEPOSIT_LIMIT)
        account.deposit(250)
    except StateChangedOutsideEvent as error:
        return _fail(str(error).split(". Fix")[0], "record an event; apply() changes the state")
    except RuleBroken as error:
        return _fail(f"a deposit of exactly the limit was refused: {error}", "refuse only > limit")
    except Exception as error:
        return _crashed(error, "refuse with RuleBroken; otherwise call super().deposit(amount)")
    if account.balance != DEPOSIT_LIMIT + 250 or len(account.pending_events) != 3:
        return _fail(
            f"after deposits of {DEPOSIT_LIMIT} and 250 the balance is {account.balance}",
            "keep recording MoneyDeposited for allowed deposits: call super().deposit(amount)",
        )
    try:
        account.deposit(DEPOSIT_LIMIT + 1)
    except RuleBroken:
        pass
    except StateChangedOutsideEvent as error:
        return _fail(str(error).split(". Fix")[0], "check the rule before recording anything")
    except Exception as error:
        return _crashed(error, "a refusal is a RuleBroken('...', fix='...')")
    else:
        return _fail(
            f"a deposit of {DEPOSIT_LIMIT + 1} was accepted",
            "raise RuleBroken('...', fix='...') when amount > 1_000_000",
        )
    if len(account.pending_events) != 3 or account.balance != DEPOSIT_LIMIT + 250:
        return _fail("the refused deposit changed the account", "check the rule first")
    replayed = account_class.from_events("cap-1", account.pending_events)
    if replayed.state() != account.state():
        return _fail("replaying the events gives a different state", "change state only in apply")
    old = [
        AccountOpened(account_id="old", owner="bo"),
        MoneyDeposited(account_id="old", amount=2 * DEPOSIT_LIMIT),  # stored before the rule
    ]
    try:
        account_class.from_events("old", old)
    except Exception:
        return _fail(
            "an account with a deposit of 2,000,000 made before the rule existed cannot be loaded",
            "a rule belongs in the command (deposit), not in apply: events are facts",
        )
    return Check(True, "deposits up to the limit are recorded; one over it is refused, unrecorded")


def _withdrawal_history(histories: dict[str, list[int]]) -> InMemoryEventStore:
    store = InMemoryEventStore()
    accounts = Repository(store, BankAccount)
    for account_id, moves in histories.items():
        account = BankAccount.open(account_id, account_id.upper())
        for amount in moves:
            account.deposit(amount) if amount > 0 else account.withdraw(-amount)
        accounts.save(account)
    return store


def check_biggest_withdrawal(projection_class: type[Projection]) -> Check:
    """Lesson 05, exercise 2: a read model whose `biggest` maps each account id to its largest
    withdrawal (accounts that never withdrew are not in it)."""
    expected = {"a": 400, "c": 90}
    store = _withdrawal_history({"a": [500, -200, 300, -400, -50], "b": [100], "c": [90, -90]})
    other = _withdrawal_history({"c": [90, -90]})
    try:
        view = projection_class()
        Projector(store, view).catch_up()
        first = dict(getattr(view, "biggest", {}))
        Projector(other, view).rebuild(view)  # rebuilt from another history: only c's
        again = dict(getattr(view, "biggest", {}))
    except TypeError as error:
        if "abstract" not in str(error):
            return _crashed(error, "apply gets every kind of event: act only on the ones you need")
        return _fail(str(error), "define apply(self, event) and clear(self)")
    except Exception as error:
        return _crashed(error, "apply gets every kind of event: act only on MoneyWithdrawn")
    if first != expected:
        return _fail(
            f"biggest is {first}, expected {expected}",
            "on MoneyWithdrawn: self.biggest[id] = max(self.biggest.get(id, 0), event.amount)",
        )
    if again != {"c": 90}:
        return _fail(
            f"rebuilt from a history with only account c, biggest is {again}",
            "clear() must empty self.biggest",
        )
    return Check(True, f"biggest withdrawals {first}; a rebuild starts from empty")


# --- lesson 09 --------------------------------------------------------------------------------


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
        return _fail(
            "the ConcurrencyError escaped",
            "catch it, orders.load(order_id) again, approve again, save again",
        )
    except Exception as error:
        return _crashed(error, "only ConcurrencyError is expected here")
    if orders.loads < 2:
        return _fail(
            "after the ConcurrencyError the order was not loaded again",
            "the refusal means your decision was made on old state: load, decide, save again",
        )
    history = [type(s.event).__name__ for s in store.read_stream("order-77")]
    if history != ["OrderCreated", "OrderApproved"]:
        return _fail(
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
                return _fail(f"SQLite refused the query: {error}", "try it in small steps")
    if [tuple(row) for row in got] != expected:
        return _fail(
            f"the query returned {got}, expected {expected}",
            "json_extract(data, '$.data.reason'), WHERE type = 'OrderCancelled', GROUP BY",
        )
    return Check(True, f"cancellations by reason: {expected}")


# --- lesson 10 --------------------------------------------------------------------------------


def check_revenue_projection(projection_class: type[Projection]) -> Check:
    """Lesson 10, exercise 1: a read model whose `revenue` maps each customer to the total
    amount of their approved orders (cancelled or unapproved orders count nothing)."""
    store = order_history(9)  # o0..o8; customers c0, c1, c2; even orders approved, odd cancelled
    with reproducible(seed=99):  # and two orders that are never approved nor cancelled
        bus = order_bus(store)
        bus.dispatch(PlaceOrder(order_id="o9", customer_id="c0", amount=5_000))
        bus.dispatch(PlaceOrder(order_id="o10", customer_id="c1", amount=7_000))
    expected: dict[str, int] = {}
    for n in range(0, 9, 2):
        expected[f"c{n % 3}"] = expected.get(f"c{n % 3}", 0) + 1_000 + n
    try:
        view = projection_class()
        Projector(store, view).catch_up()
        first = {k: v for k, v in dict(getattr(view, "revenue", {})).items() if v}
        Projector(store, view).rebuild(view)
        again = {k: v for k, v in dict(getattr(view, "revenue", {})).items() if v}
    except TypeError as error:
        if "abstract" not in str(error):
            return _crashed(error, "apply gets every kind of event: act only on the ones you need")
        return _fail(str(error), "define apply(self, event) and clear(self)")
    except Exception as error:
        return _crashed(error, "apply gets every kind of order event")
    if first != expected:
        return _fail(
            f"revenue is {first}, expected {expected}",
            "remember each order's customer and amount on OrderCreated; add on OrderApproved",
        )
    if again != expected:
        return _fail(f"after a rebuild, revenue is {again}", "clear() must forget everything")
    return Check(True, f"revenue per customer {first}, the same after a rebuild")


async def check_key_function(key_for: Callable[[Event], str | None]) -> Check:
    """Lesson 10, exercise 2: a key for order events that keeps each order's events in order
    and still spreads the orders over the partitions."""
    try:
        async with InMemoryBroker() as broker:
            trial = await keying_trial(broker, key_for, orders=8)
    except Exception as error:
        return _crashed(error, "return the key as a str, such as one of the event's fields")
    if trial.wrong:
        return _fail(
            f"the read model is wrong for {trial.wrong}",
            "one order's events must share a key, so they share a partition",
        )
    split = sorted(o for o, partitions in trial.partitions.items() if len(set(partitions)) > 1)
    if split:
        return _fail(
            f"the events of {split} went to different partitions (the read model was lucky)",
            "one order's events must share a key, so they share a partition",
        )
    used = {p for partitions in trial.partitions.values() for p in partitions}
    if len(used) < 2:
        return _fail(
            f"every event went to partition {used.pop()}: right, but one consumer does it all",
            "a key per order spreads orders over partitions and keeps each one's order",
        )
    return Check(True, f"all 8 orders right, spread over partitions {sorted(used)}")
