"""The event store contract, written once and run against both stores (lesson 09).

`EventStoreContract` holds every case; each store's subclass only says how to make a store.
The expected values are written out by hand (versions 1, 2, 3; positions in append order),
not read from the store's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from eda_lib import OrderApproved, OrderCancelled, OrderCreated, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.store import (
    ConcurrencyError,
    EmptyAppend,
    EventStore,
    InMemoryEventStore,
    InvalidVersion,
    NotAnEvent,
    NotAStore,
    Snapshot,
    SQLiteEventStore,
    StoreClosed,
    StoreError,
    Subscription,
    UnknownEventType,
)


def created(order_id: str, amount: int = 100) -> OrderCreated:
    return OrderCreated(order_id=order_id, customer_id=f"c-{order_id}", amount=amount)


class _Private(Event):  # a private base: never registered, so never readable
    n: int


class EventStoreContract:
    """Every case a store must pass. Subclasses define `make_store`."""

    reopens: ClassVar[bool] = False

    def make_store(self, tmp_path: Path) -> EventStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Any:
        with self.make_store(tmp_path) as store:
            yield store

    def test_a_new_stream_is_at_version_zero(self, store: EventStore) -> None:
        assert store.version("order-1") == 0
        assert store.read_stream("order-1") == []
        assert store.last_position() == 0
        assert store.read_all() == []

    def test_append_numbers_versions_and_positions(self, store: EventStore) -> None:
        events = [created("1"), OrderApproved(order_id="1")]
        stored = store.append("order-1", events, 0)
        assert [(s.stream_id, s.version, s.position) for s in stored] == [
            ("order-1", 1, 1),
            ("order-1", 2, 2),
        ]
        assert [s.event for s in stored] == events
        more = store.append("order-2", [created("2")], 0)
        assert [(s.version, s.position) for s in more] == [(1, 3)]
        last = store.append("order-1", [OrderCancelled(order_id="1", reason="late")], 2)
        assert [(s.version, s.position) for s in last] == [(3, 4)]
        assert store.version("order-1") == 3
        assert store.version("order-2") == 1
        assert store.last_position() == 4

    def test_events_read_back_equal_what_was_appended(self, store: EventStore) -> None:
        events = [created("1", 12_000), OrderCancelled(order_id="1", reason="out of stock")]
        store.append("order-1", events, 0)
        read = store.read_stream("order-1")
        assert [s.event for s in read] == events
        assert [type(s.event) for s in read] == [OrderCreated, OrderCancelled]
        assert [s.event.id for s in read] == [e.id for e in events]

    def test_read_stream_from_a_version(self, store: EventStore) -> None:
        events = [
            created("1"),
            OrderApproved(order_id="1"),
            OrderCancelled(order_id="1", reason="x"),
        ]
        store.append("order-1", events, 0)
        assert [s.version for s in store.read_stream("order-1", 2)] == [2, 3]
        assert [s.event for s in store.read_stream("order-1", 3)] == events[2:]
        assert store.read_stream("order-1", 4) == []

    def test_read_all_is_in_global_order_from_a_position(self, store: EventStore) -> None:
        store.append("order-a", [created("a")], 0)
        store.append("order-b", [created("b"), OrderApproved(order_id="b")], 0)
        store.append("order-a", [OrderApproved(order_id="a")], 1)
        assert [(s.stream_id, s.version) for s in store.read_all()] == [
            ("order-a", 1),
            ("order-b", 1),
            ("order-b", 2),
            ("order-a", 2),
        ]
        assert [s.position for s in store.read_all(3)] == [3, 4]
        assert [s.position for s in store.read_all(2, limit=2)] == [2, 3]
        assert store.read_all(2, limit=0) == []
        assert store.read_all(5) == []

    @pytest.mark.parametrize("expected", [0, 1, 3])
    def test_a_wrong_expected_version_is_refused_and_writes_nothing(
        self, store: EventStore, expected: int
    ) -> None:
        store.append("order-1", [created("1"), OrderApproved(order_id="1")], 0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("order-1", [OrderCancelled(order_id="1", reason="x")], expected)
        error = caught.value
        assert (error.stream_id, error.expected, error.actual) == ("order-1", expected, 2)
        assert "order-1" in str(error) and f"expected version {expected}" in str(error)
        assert "expected_version=2" in str(error)
        assert store.version("order-1") == 2
        assert store.last_position() == 2

    def test_the_loser_of_a_race_gets_a_concurrency_error(self, store: EventStore) -> None:
        store.append("order-1", [created("1")], 0)
        seen_by_alice = seen_by_bob = store.version("order-1")
        store.append("order-1", [OrderApproved(order_id="1")], seen_by_alice)
        with pytest.raises(ConcurrencyError):
            store.append("order-1", [OrderCancelled(order_id="1", reason="x")], seen_by_bob)
        assert [type(s.event) for s in store.read_stream("order-1")] == [
            OrderCreated,
            OrderApproved,
        ]

    def test_an_append_with_one_bad_item_writes_nothing(self, store: EventStore) -> None:
        with pytest.raises(NotAnEvent, match="Fix"):
            store.append("order-1", [created("1"), {"not": "an event"}], 0)  # type: ignore[list-item]
        assert store.version("order-1") == 0
        assert store.last_position() == 0

    @pytest.mark.parametrize(
        ("version", "problem"),
        [(-1, "at least 0"), (1.0, "whole number"), ("1", "whole number"), (True, "whole number")],
    )
    def test_a_bad_expected_version_is_a_typed_error(
        self, store: EventStore, version: object, problem: str
    ) -> None:
        with pytest.raises(InvalidVersion, match=problem) as caught:
            store.append("order-1", [created("1")], version)  # type: ignore[arg-type]
        assert "Fix" in str(caught.value)
        assert store.last_position() == 0

    def test_bad_read_positions_are_typed_errors(self, store: EventStore) -> None:
        with pytest.raises(InvalidVersion, match="at least 1"):
            store.read_stream("order-1", 0)
        with pytest.raises(InvalidVersion, match="at least 1"):
            store.read_all(0)
        with pytest.raises(InvalidVersion, match="whole number"):
            store.read_all(1, limit=2.5)  # type: ignore[arg-type]

    def test_an_empty_append_is_refused(self, store: EventStore) -> None:
        with pytest.raises(EmptyAppend, match="at least one event"):
            store.append("order-1", [], 0)

    def test_a_single_event_must_come_in_a_list(self, store: EventStore) -> None:
        with pytest.raises(NotAnEvent, match=r"\[event\]"):
            store.append("order-1", created("1"), 0)  # type: ignore[arg-type]

    def test_an_unregistered_event_type_is_refused_on_append(self, store: EventStore) -> None:
        with pytest.raises(UnknownEventType, match="leading underscore"):
            store.append("s", [_Private(n=1)], 0)
        assert store.last_position() == 0

    @pytest.mark.parametrize("stream_id", ["", None, 42])
    def test_a_stream_id_must_be_a_non_empty_string(
        self, store: EventStore, stream_id: object
    ) -> None:
        with pytest.raises(StoreError, match="non-empty string"):
            store.append(stream_id, [created("1")], 0)  # type: ignore[arg-type]

    def test_snapshots_keep_the_latest(self, store: EventStore) -> None:
        assert store.load_snapshot("account-1") is None
        store.save_snapshot(Snapshot("account-1", 5, b'{"balance": 5}'))
        store.save_snapshot(Snapshot("account-1", 10, b'{"balance": 10}'))
        assert store.load_snapshot("account-1") == Snapshot("account-1", 10, b'{"balance": 10}')

    def test_checkpoints_are_named(self, store: EventStore) -> None:
        assert store.checkpoint("outbox") == 0
        store.save_checkpoint("outbox", 3)
        store.save_checkpoint("summary", 1)
        store.save_checkpoint("outbox", 4)
        assert (store.checkpoint("outbox"), store.checkpoint("summary")) == (4, 1)
        with pytest.raises(InvalidVersion):
            store.save_checkpoint("outbox", -1)

    def test_a_closed_store_refuses_everything(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path)
        store.append("order-1", [created("1")], 0)
        store.close()
        store.close()  # closing twice is harmless
        calls = [
            lambda: store.append("order-1", [OrderApproved(order_id="1")], 1),
            lambda: store.version("order-1"),
            lambda: store.read_stream("order-1"),
            lambda: store.read_all(),
            lambda: store.last_position(),
            lambda: store.checkpoint("x"),
            lambda: store.load_snapshot("order-1"),
        ]
        for call in calls:
            with pytest.raises(StoreClosed, match="open it again"):
                call()
        with pytest.raises(StoreClosed):
            store.__enter__()

    def test_a_stored_event_can_be_published_as_it_is(self, store: EventStore) -> None:
        from eda_lib import deserialize, serialize

        payment = PaymentSuccessful(payment_id="p-1", order_id="o-1", amount=12_000, currency="usd")
        store.append("payment-p-1", [payment], 0)
        (stored,) = store.read_stream("payment-p-1")
        assert deserialize(serialize(stored.event)) == payment

    async def test_a_subscription_catches_up_then_follows(self, store: EventStore) -> None:
        store.append("order-1", [created("1"), OrderApproved(order_id="1")], 0)
        subscription = Subscription(store, from_position=2, poll_interval_s=0.005)
        first = await subscription.take(5, timeout_s=0.05)
        assert [s.position for s in first] == [2]
        assert subscription.caught_up

        async def append_later() -> None:
            await asyncio.sleep(0.02)
            store.append("order-2", [created("2")], 0)
            store.append("order-1", [OrderCancelled(order_id="1", reason="x")], 2)

        writer = asyncio.create_task(append_later())
        followed = await subscription.take(2, timeout_s=2.0)
        await writer
        assert [(s.stream_id, s.position) for s in followed] == [("order-2", 3), ("order-1", 4)]
        assert await subscription.next_batch(timeout_s=0.01) == []
        assert subscription.position == 4

    async def test_a_subscription_iterates_in_order(self, store: EventStore) -> None:
        for n in range(5):
            store.append(f"order-{n}", [created(str(n))], 0)
        subscription = Subscription(store, batch_size=2)
        seen = []
        async for stored in subscription:
            seen.append(stored.position)
            if len(seen) == 5:
                break
        assert seen == [1, 2, 3, 4, 5]


class TestInMemoryEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return InMemoryEventStore()

    def test_appended_lists_are_not_shared(self, store: EventStore) -> None:
        stored = store.append("order-1", [created("1")], 0)
        stored.clear()
        assert store.version("order-1") == 1


class TestSQLiteEventStore(EventStoreContract):
    def make_store(self, tmp_path: Path) -> EventStore:
        return SQLiteEventStore(tmp_path / "events.db")

    def test_events_survive_closing_and_opening_again(self, tmp_path: Path) -> None:
        events = [created("1"), OrderApproved(order_id="1")]
        with SQLiteEventStore(tmp_path / "events.db") as store:
            store.append("order-1", events, 0)
            store.save_checkpoint("outbox", 2)
        with SQLiteEventStore(tmp_path / "events.db") as store:
            assert [s.event for s in store.read_stream("order-1")] == events
            assert store.checkpoint("outbox") == 2
            assert [s.position for s in store.append("order-2", [created("2")], 0)] == [3]

    def test_the_file_is_in_wal_mode_with_full_sync(self, tmp_path: Path) -> None:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            assert store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL

    def test_events_are_cloudevents_json_that_sql_can_query(self, tmp_path: Path) -> None:
        with SQLiteEventStore(tmp_path / "events.db") as store:
            store.append("order-1", [created("1"), OrderCancelled(order_id="1", reason="late")], 0)
        with sqlite3.connect(tmp_path / "events.db") as db:
            rows = db.execute(
                "SELECT json_extract(data, '$.specversion'), json_extract(data, '$.data.reason')"
                " FROM events WHERE type = 'OrderCancelled'"
            ).fetchall()
        assert rows == [("1.0", "late")]

    def test_a_file_that_is_not_sqlite_is_not_a_store(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.txt"
        path.write_text("these are my notes, not a database" * 100)
        with pytest.raises(NotAStore, match="not an event store"):
            SQLiteEventStore(path)

    def test_another_sqlite_database_is_not_a_store(self, tmp_path: Path) -> None:
        path = tmp_path / "shop.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        with pytest.raises(NotAStore, match="SQLite database but not an event store"):
            SQLiteEventStore(path)

    def test_a_store_of_a_newer_schema_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "events.db"
        SQLiteEventStore(path).close()
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA user_version = 99")
        with pytest.raises(NotAStore, match=r"schema version 99.*upgrade"):
            SQLiteEventStore(path)

    def test_a_missing_folder_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(NotAStore, match="folder exists"):
            SQLiteEventStore(tmp_path / "no" / "such" / "folder" / "events.db")

    def test_a_stored_type_that_no_class_defines_is_a_typed_error(self, tmp_path: Path) -> None:
        path = tmp_path / "events.db"
        with SQLiteEventStore(path) as store:
            store.append("order-1", [created("1")], 0)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE events SET data = replace(data, 'OrderCreated', 'OrderTeleported')")
        with SQLiteEventStore(path) as store, pytest.raises(UnknownEventType) as caught:
            store.read_all()
        assert "position 1" in str(caught.value)
        assert "OrderTeleported" in str(caught.value)
        assert "import the module" in str(caught.value)

    def test_two_stores_on_one_file_see_each_others_appends(self, tmp_path: Path) -> None:
        with (
            SQLiteEventStore(tmp_path / "e.db") as alice,
            SQLiteEventStore(tmp_path / "e.db") as bob,
        ):
            alice.append("order-1", [created("1")], 0)
            assert bob.version("order-1") == 1
            with pytest.raises(ConcurrencyError):
                bob.append("order-1", [OrderApproved(order_id="1")], 0)
