"""Projections (lesson 10): checkpoints, rebuilds and the SQLite read model's transaction. The
oracle for a read model is the aggregates themselves, replayed one stream at a time by the
repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from eda_lib.cqrs import Projector
from eda_lib.domain import (
    ApproveOrder,
    CancelOrder,
    OrderSummaries,
    PlaceOrder,
    SQLiteOrderSummaries,
    order_bus,
)
from eda_lib.labs import order_history
from eda_lib.store import SQLiteEventStore
from tests.unit.cqrs.oracles import statuses_from_aggregates


def test_a_projection_matches_the_aggregates_and_resumes_from_its_checkpoint() -> None:
    store = order_history(8)
    view = OrderSummaries()
    projector = Projector(store, view, batch_size=3)
    assert projector.catch_up(max_events=5) == 5
    assert (view.position, projector.lag(view)) == (5, 11)
    assert projector.catch_up() == 11
    assert projector.catch_up() == 0
    assert view.statuses() == statuses_from_aggregates(store)
    assert view.counts() == {"approved": 4, "cancelled": 4}


def test_an_event_at_or_before_the_checkpoint_is_not_applied_twice() -> None:
    store = order_history(2)
    view = OrderSummaries()
    Projector(store, view).catch_up()
    before = view.table()
    assert not any(view.handle(stored) for stored in store.read_all())
    assert view.table() == before


def test_a_rebuild_from_zero_gives_the_same_read_model() -> None:
    store = order_history(6)
    view = OrderSummaries()
    projector = Projector(store, view)
    projector.catch_up()
    before = view.table()
    view.rows["o0"].status = "corrupted by a bug"  # a read model is disposable
    assert projector.rebuild(view) == store.last_position()
    assert view.table() == before


def test_the_sqlite_read_model_agrees_and_survives_a_restart(tmp_path: Path) -> None:
    with SQLiteEventStore(tmp_path / "events.db") as store:
        bus = order_bus(store)
        for n in range(5):
            bus.dispatch(PlaceOrder(order_id=f"o{n}", customer_id="c", amount=100 + n))
        view = SQLiteOrderSummaries(tmp_path / "views.db")
        Projector(store, view).catch_up()
        view.close()
        bus.dispatch(ApproveOrder(order_id="o1"))
        bus.dispatch(CancelOrder(order_id="o3", reason="late"))
        reopened = SQLiteOrderSummaries(tmp_path / "views.db")
        assert reopened.position == 5
        assert Projector(store, reopened).catch_up() == 2
        assert reopened.statuses() == statuses_from_aggregates(store)
        memory = OrderSummaries()
        Projector(store, memory).catch_up()
        assert reopened.table() == memory.table()
        reopened.close()


def test_a_failed_batch_leaves_rows_and_checkpoint_as_they_were(tmp_path: Path) -> None:
    store = order_history(4)

    class Flaky(SQLiteOrderSummaries):
        fail_at = 6

        def apply(self, event: object) -> None:
            if self.position + 1 == self.fail_at:
                raise RuntimeError("disk full")
            super().apply(event)  # type: ignore[arg-type]

    view = Flaky(tmp_path / "views.db")
    projector = Projector(store, view, batch_size=4)
    with pytest.raises(RuntimeError, match="disk full"):
        projector.catch_up()
    assert view.position == 4  # the first batch committed, the second rolled back
    assert set(view.statuses().values()) == {"created"}
    view.fail_at = 0
    projector.catch_up()
    assert view.statuses() == statuses_from_aggregates(store)
    view.close()


def test_two_projectors_on_one_sqlite_read_model_apply_each_event_once(tmp_path: Path) -> None:
    store = order_history(4)  # 8 events

    class Counting(SQLiteOrderSummaries):
        applied = 0

        def apply(self, event: object) -> None:
            type(self).applied += 1
            super().apply(event)  # type: ignore[arg-type]

    first, second = Counting(tmp_path / "views.db"), Counting(tmp_path / "views.db")
    assert Projector(store, first, batch_size=3).catch_up(max_events=5) == 5
    assert second.position == 0  # it read its checkpoint before the first one moved it
    assert Projector(store, second, batch_size=3).catch_up() == 3
    assert Counting.applied == 8
    assert second.statuses() == statuses_from_aggregates(store)
    first.close()
    second.close()
