"""Event sourcing (lessons 05 and 09): aggregate rules, replay, the repository's optimistic
concurrency, snapshots (a property test against a hand-written fold), and the outbox."""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib import Consumer, InMemoryBroker, OrderApproved, OrderCancelled, OrderCreated, Producer
from eda_lib.domain import BankAccount, MoneyDeposited, Order, PaymentFailed
from eda_lib.events import Event
from eda_lib.faults import CrashOnce
from eda_lib.resilience import InMemoryProcessedEvents
from eda_lib.sourcing import (
    Aggregate,
    AggregateNotFound,
    Outbox,
    OutboxCrash,
    Repository,
    RuleBroken,
    StateChangedOutsideEvent,
    UnexpectedEvent,
)
from eda_lib.store import (
    ConcurrencyError,
    EventStore,
    InMemoryEventStore,
    InvalidVersion,
    SQLiteEventStore,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made: EventStore = (
        InMemoryEventStore() if request.param == "memory" else SQLiteEventStore(tmp_path / "e.db")
    )
    with made:
        yield made


# --- aggregates ---------------------------------------------------------------------------


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


# --- the repository -----------------------------------------------------------------------


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


# --- snapshots: a property test against an independent fold --------------------------------

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


# --- the outbox ---------------------------------------------------------------------------


class Shipping:
    """Counts each order it was told about: a double count would be a double shipment."""

    def __init__(self) -> None:
        self.shipped: Counter[str] = Counter()

    def on_created(self, event: OrderCreated) -> None:
        self.shipped[event.order_id] += 1


async def test_a_crash_between_publish_and_checkpoint_loses_nothing(store: EventStore) -> None:
    orders = Repository(store, Order)
    for n in range(6):
        orders.save(Order.place(str(n), "ada", 100 + n))
    async with InMemoryBroker() as broker:
        await broker.create_topic("orders", partitions=3)
        producer = Producer(broker, "outbox")
        outbox = Outbox(
            store, producer, "orders", batch_size=4, crash_after_publish=CrashOnce({"5"})
        )
        with pytest.raises(OutboxCrash, match=r"5-6.*published again"):
            await outbox.publish_pending()
        # positions 1-4 went out and were checkpointed; 5-6 went out, but not the checkpoint
        assert (outbox.position, outbox.pending()) == (4, 2)
        restarted = Outbox(store, producer, "orders", batch_size=4)
        report = await restarted.publish_pending()
        assert (report.published, report.position, restarted.pending()) == (2, 6, 0)
        assert await restarted.publish_pending() == type(report)(0, 6)

        assert len(producer.reports) == 8  # six events, two of them twice

        shipping = Shipping()
        consumer = Consumer(
            broker,
            "shipping",
            "orders",
            shipping.on_created,
            idempotency=InMemoryProcessedEvents(),
        )
        async with consumer:
            run = await consumer.run(max_events=8, timeout=2.0)
    assert run.processed == 8
    assert shipping.shipped == Counter({str(n): 1 for n in range(6)})


async def test_outbox_keys_events_by_their_aggregate(store: EventStore) -> None:
    orders = Repository(store, Order)
    for n in range(4):
        order = Order.place(str(n), "ada", 100)
        order.approve()
        orders.save(order)
    async with InMemoryBroker() as broker:
        await broker.create_topic("orders", partitions=3)
        outbox = Outbox(store, Producer(broker), "orders")
        await outbox.publish_pending()
        partitions: dict[str, set[int]] = {}
        for stored, report in zip(store.read_all(), outbox.reports, strict=True):
            partitions.setdefault(stored.stream_id, set()).add(report.partition)
    assert all(len(p) == 1 for p in partitions.values())


def test_aggregates_need_an_apply() -> None:
    class Empty(Aggregate):
        pass

    with pytest.raises(TypeError, match=r"abstract method.*apply"):
        Empty("1")  # type: ignore[abstract]


def test_replay_cost_is_capped_below_the_snapshot_interval() -> None:
    from eda_lib.labs import replay_cost

    cost = replay_cost(range(1, 31), (None, 5))
    assert cost["full replay"] == list(range(1, 31))  # a full replay reads every event
    # Worked out by hand: the latest snapshot is at the last multiple of 5, so a load reads
    # what came after it (a stream shorter than 5 has no snapshot yet).
    assert cost["snapshot every 5"] == [n if n < 5 else n % 5 for n in range(1, 31)]


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
