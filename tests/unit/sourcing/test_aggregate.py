"""Aggregates (lessons 05 and 09): their rules, state changed only by events, and replay."""

from __future__ import annotations

import pytest

from eda_lib import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.domain import BankAccount, MoneyDeposited, Order, PaymentFailed
from eda_lib.sourcing import Aggregate, RuleBroken, StateChangedOutsideEvent, UnexpectedEvent


def test_a_command_records_an_event_and_the_event_changes_the_state() -> None:
    order = Order.place("42", "ada", 12_000)
    assert (order.status, order.amount, order.version) == ("created", 12_000, 1)
    order.approve()
    assert order.status == "approved"
    assert [type(e) for e in order.pending_events] == [OrderCreated, OrderApproved]


@pytest.mark.parametrize(
    ("history", "command", "outcome"),
    [
        (["cancel"], "approve", "refused"),
        (["approve"], "approve", "nothing"),
        (["cancel"], "cancel", "nothing"),
        ([], "cancel", OrderCancelled),
        (["approve"], "cancel", OrderCancelled),
        ([], "approve", OrderApproved),
    ],
)
def test_order_rules(history: list[str], command: str, outcome: object) -> None:
    order = Order.place("1", "ada", 500)
    for step in history:
        order.approve() if step == "approve" else order.cancel("changed my mind")
    before = len(order.pending_events)
    act = order.approve if command == "approve" else lambda: order.cancel("again")
    if outcome == "refused":
        with pytest.raises(RuleBroken, match=r"cannot be approved.*Fix: place a new order"):
            act()
        assert len(order.pending_events) == before
    elif outcome == "nothing":
        act()
        assert len(order.pending_events) == before
    else:
        act()
        assert type(order.pending_events[-1]) is outcome


def test_account_rules() -> None:
    account = BankAccount.open("7", "ada")
    account.deposit(1_000)
    with pytest.raises(RuleBroken, match=r"holds 1000, less than the 1500.*at most 1000"):
        account.withdraw(1_500)
    with pytest.raises(RuleBroken, match="still holds 1000"):
        account.close("moving")
    account.withdraw(1_000)
    account.close("moving")
    with pytest.raises(RuleBroken, match="closed: no deposit"):
        account.deposit(5)
    assert (account.balance, account.is_open, account.version) == (0, False, 4)


def test_state_set_outside_apply_is_refused() -> None:
    account = BankAccount.open("7", "ada")
    with pytest.raises(StateChangedOutsideEvent, match=r"balance can only change.*record"):
        account.balance = 1_000_000
    assert account.balance == 0

    class Sneaky(BankAccount):
        def bonus(self) -> None:
            self.balance += 100  # a change no event records

    sneaky = Sneaky.open("8", "eve")
    with pytest.raises(StateChangedOutsideEvent):
        sneaky.bonus()
    assert sneaky.balance == 0


def test_an_event_apply_does_not_know_is_a_clear_error() -> None:
    with pytest.raises(UnexpectedEvent, match=r"no rule for MoneyDeposited.*Order.apply"):
        Order("1").record(MoneyDeposited(account_id="1", amount=5))


def test_apply_runs_only_for_events_being_recorded_or_replayed() -> None:
    account = BankAccount.open("7", "ada")
    with pytest.raises(StateChangedOutsideEvent, match=r"apply runs only for events"):
        account.apply(MoneyDeposited(account_id="7", amount=1_000))
    assert (account.balance, account.version, len(account.pending_events)) == (0, 1, 1)


def test_replaying_the_history_rebuilds_the_same_state() -> None:
    account = BankAccount.open("7", "ada")
    for amount in (500, 250, 125):
        account.deposit(amount)
    account.withdraw(300)
    again = BankAccount.from_events("7", account.pending_events)
    assert (
        again.state()
        == account.state()
        == {
            "owner": "ada",
            "currency": "USD",
            "balance": 575,
            "is_open": True,
        }
    )
    assert again.version == 5


def test_an_aggregate_id_must_be_text() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        Order("")


def test_aggregates_need_an_apply() -> None:
    class Empty(Aggregate):
        pass

    with pytest.raises(TypeError, match=r"abstract method.*apply"):
        Empty("1")  # type: ignore[abstract]


def test_events_recorded_within_caused_by_join_the_causes_chain() -> None:
    order = Order.place("o-1", "ann", 100)
    declined = PaymentFailed(
        payment_id="p", order_id="o-1", amount=100, currency="USD", reason="card declined"
    )
    with order.caused_by(declined):
        order.cancel("payment failed")
    created, cancelled = order.pending_events
    assert created.causation_id is None and created.correlation == created.id
    assert cancelled.causation_id == declined.id and cancelled.correlation == declined.correlation
    assert cancelled.reason == "payment failed" and order.status == "cancelled"
    assert order.__dict__.get("_cause") is None  # the chain ends with the block
