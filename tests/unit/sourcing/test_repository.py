"""The repository (lessons 05 and 09): save and load by replay, optimistic concurrency, earlier
versions, and snapshots (a property test against a hand-written fold)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.domain import BankAccount, MoneyDeposited, Order
from eda_lib.events import Event
from eda_lib.sourcing import AggregateNotFound, Repository, RuleBroken
from eda_lib.store import ConcurrencyError, EventStore, InMemoryEventStore, InvalidVersion


def test_save_then_load_replays(store: EventStore) -> None:
    orders = Repository(store, Order)
    order = Order.place("42", "ada", 12_000)
    order.approve()
    stored = orders.save(order)
    assert [(s.stream_id, s.version) for s in stored] == [("order-42", 1), ("order-42", 2)]
    assert order.pending_events == ()
    loaded = orders.load("42")
    assert (loaded.status, loaded.customer_id, loaded.version) == ("approved", "ada", 2)
    assert orders.save(loaded) == []  # nothing new, nothing written
    assert store.last_position() == 2


def test_two_people_deciding_on_the_same_state_cannot_both_win(store: EventStore) -> None:
    orders = Repository(store, Order)
    orders.save(Order.place("42", "ada", 12_000))
    alice, bob = orders.load("42"), orders.load("42")
    alice.approve()
    bob.cancel("customer called")
    orders.save(alice)
    with pytest.raises(ConcurrencyError) as caught:
        orders.save(bob)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    bob = orders.load("42")  # bob loads again and decides again
    bob.cancel("customer called")
    orders.save(bob)
    assert [type(s.event) for s in store.read_stream("order-42")] == [
        OrderCreated,
        OrderApproved,
        OrderCancelled,
    ]


def test_load_an_earlier_version(store: EventStore) -> None:
    accounts = Repository(store, BankAccount)
    account = BankAccount.open("1", "ada")
    for amount in (100, 200, 300):
        account.deposit(amount)
    accounts.save(account)
    assert [accounts.load("1", at_version=v).balance for v in (1, 2, 3, 4)] == [0, 100, 300, 600]


def test_a_version_the_stream_does_not_have_is_refused(store: EventStore) -> None:
    accounts = Repository(store, BankAccount)
    accounts.save(BankAccount.open("1", "ada"))
    with pytest.raises(InvalidVersion, match=r"has 1 events, so there is no version 5"):
        accounts.load("1", at_version=5)


def test_a_snapshot_of_an_older_class_version_is_ignored(store: EventStore) -> None:
    accounts = Repository(store, BankAccount, snapshot_every=2)
    account = BankAccount.open("1", "ada")
    for amount in (10, 20, 30):
        account.deposit(amount)
    accounts.save(account)

    class CountingAccount(BankAccount):  # a new version of the class: it counts deposits too
        snapshot_version = 2
        stream_prefix = "account"

        def __init__(self, account_id: str) -> None:
            super().__init__(account_id)
            self.deposits = 0

        def apply(self, event: Event) -> None:
            super().apply(event)
            if isinstance(event, MoneyDeposited):
                self.deposits += 1

    newer = Repository(store, CountingAccount, snapshot_every=2)
    loaded = newer.load("1")
    assert (loaded.deposits, loaded.balance) == (3, 60)
    assert newer.replayed == 4  # the old snapshot was not used: every event was replayed


def test_loading_what_was_never_saved_is_a_clear_error(store: EventStore) -> None:
    with pytest.raises(AggregateNotFound, match=r"no Order with id '9'.*order-9"):
        Repository(store, Order).load("9")


Command = tuple[str, int]


commands = st.lists(
    st.tuples(st.sampled_from(["deposit", "withdraw"]), st.integers(min_value=1, max_value=500)),
    max_size=40,
)


def expected_balance(history: list[Command]) -> tuple[int, int]:
    """The balance and the number of events, worked out by hand: a withdrawal beyond the
    balance is refused and records nothing."""
    balance, events = 0, 1  # AccountOpened
    for action, amount in history:
        if action == "deposit":
            balance, events = balance + amount, events + 1
        elif amount <= balance:
            balance, events = balance - amount, events + 1
    return balance, events


@settings(max_examples=60, deadline=None)
@given(
    history=commands,
    every=st.integers(min_value=1, max_value=7),
    save_points=st.sets(st.integers(min_value=0, max_value=40)),
)
def test_snapshot_plus_tail_equals_full_replay(
    history: list[Command], every: int, save_points: set[int]
) -> None:
    store = InMemoryEventStore()
    with_snapshots = Repository(store, BankAccount, snapshot_every=every)
    account = BankAccount.open("1", "ada")
    for n, (action, amount) in enumerate(history):
        with contextlib.suppress(RuleBroken):  # a refused withdrawal records nothing
            account.deposit(amount) if action == "deposit" else account.withdraw(amount)
        if n in save_points:  # save at arbitrary moments: snapshots fall between saves
            with_snapshots.save(account)
            account = with_snapshots.load("1")
    with_snapshots.save(account)

    balance, events = expected_balance(history)
    from_snapshot = with_snapshots.load("1")
    full_replay = BankAccount.from_events("1", [s.event for s in store.read_stream("account-1")])
    assert from_snapshot.state() == full_replay.state()
    assert (from_snapshot.balance, from_snapshot.version) == (balance, events)
    assert full_replay.version == events
    snapshot = store.load_snapshot("account-1")
    if events >= every:
        assert snapshot is not None and snapshot.version >= every
        replayed_before = with_snapshots.replayed
        with_snapshots.load("1")
        assert with_snapshots.replayed - replayed_before == events - snapshot.version
    else:
        assert snapshot is None


def test_an_old_version_is_read_without_a_later_snapshot(store: EventStore) -> None:
    accounts = Repository(store, BankAccount, snapshot_every=2)
    account = BankAccount.open("1", "ada")
    for amount in (1, 2, 4, 8):
        account.deposit(amount)
    accounts.save(account)
    assert store.load_snapshot("account-1") is not None
    assert accounts.load("1", at_version=3).balance == 3
    assert accounts.load("1").balance == 15
