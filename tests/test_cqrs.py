"""CQRS (lesson 10): the command bus, projections with checkpoints, rebuilds, the SQLite read
model's transaction, eventual consistency, time travel and the keying pitfall. The oracle for a
read model is the aggregates themselves, replayed one stream at a time by the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from eda_lib import InMemoryBroker, OrderApproved, OrderCreated
from eda_lib.cqrs import Command, CommandBus, Projector, TimeTravel, UnknownCommand
from eda_lib.domain import (
    ApproveOrder,
    CancelOrder,
    Order,
    OrderSummaries,
    PlaceOrder,
    SQLiteOrderSummaries,
    order_bus,
)
from eda_lib.labs import eventual_consistency, keying_trial, order_history
from eda_lib.sourcing import Repository, RuleBroken
from eda_lib.store import ConcurrencyError, EventStore, InMemoryEventStore, SQLiteEventStore


def statuses_from_aggregates(store: EventStore) -> dict[str, str]:
    """Each order's status, replayed from its own stream: independent of any projection."""
    orders = Repository(store, Order)
    ids = sorted({s.stream_id.removeprefix("order-") for s in store.read_all()})
    return {order_id: orders.load(order_id).status for order_id in ids}


# --- the command bus ----------------------------------------------------------------------


def test_commands_go_to_the_handler_their_class_names() -> None:
    store = InMemoryEventStore()
    bus = order_bus(store)
    placed = bus.dispatch(PlaceOrder(order_id="42", customer_id="ada", amount=12_000))
    assert [type(s.event) for s in placed] == [OrderCreated]
    approved = bus.dispatch(ApproveOrder(order_id="42"))
    assert [(type(s.event), s.version) for s in approved] == [(OrderApproved, 2)]
    assert [o.accepted for o in bus.outcomes] == [True, True]


def test_a_refused_command_raises_at_once_and_is_recorded() -> None:
    store = InMemoryEventStore()
    bus = order_bus(store)
    bus.dispatch(PlaceOrder(order_id="42", customer_id="ada", amount=100))
    bus.dispatch(CancelOrder(order_id="42", reason="no stock"))
    with pytest.raises(RuleBroken, match="cancelled"):
        bus.dispatch(ApproveOrder(order_id="42"))
    with pytest.raises(RuleBroken, match="already exists"):
        bus.dispatch(PlaceOrder(order_id="42", customer_id="bob", amount=5))
    assert [o.accepted for o in bus.outcomes] == [True, True, False, False]
    assert "cannot be approved" in bus.outcomes[2].refused
    assert store.last_position() == 2


def test_a_bad_command_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="amount"):
        PlaceOrder(order_id="1", customer_id="ada", amount=-5)


def test_unknown_and_unannotated_handlers_are_clear_errors() -> None:
    class Refund(Command):
        order_id: str

    bus = order_bus(InMemoryEventStore())
    with pytest.raises(UnknownCommand, match=r"no handler takes Refund.*ApproveOrder"):
        bus.dispatch(Refund(order_id="1"))
    with pytest.raises(UnknownCommand, match="annotate its first parameter"):
        bus.register(lambda command: [])

    def place_again(command: PlaceOrder) -> list:  # type: ignore[type-arg]
        return []

    with pytest.raises(UnknownCommand, match="already has a handler"):
        bus.register(place_again)


def test_a_conflict_is_retried_on_fresh_state() -> None:
    store = InMemoryEventStore()
    orders = Repository(store, Order)
    orders.save(Order.place("42", "ada", 100))
    attempts = []

    def approve(command: ApproveOrder) -> list:  # type: ignore[type-arg]
        order = orders.load(command.order_id)
        if not attempts:  # someone else cancels between our load and our save, once
            other = orders.load(command.order_id)
            other.cancel("customer called")
            orders.save(other)
        attempts.append(order.version)
        order.approve()
        return orders.save(order)

    bus = CommandBus(approve)
    with pytest.raises(RuleBroken, match="cancelled"):  # the second attempt sees the cancel
        bus.dispatch(ApproveOrder(order_id="42"))
    assert attempts == [1, 2]


def test_conflicts_beyond_the_retries_raise() -> None:
    calls = []

    def always_conflicts(command: ApproveOrder) -> list:  # type: ignore[type-arg]
        calls.append(command)
        raise ConcurrencyError("order-1", 1, 2)

    bus = CommandBus(always_conflicts, retries_on_conflict=2)
    with pytest.raises(ConcurrencyError):
        bus.dispatch(ApproveOrder(order_id="1"))
    assert len(calls) == 3
    (outcome,) = bus.outcomes
    assert (outcome.accepted, outcome.attempts) == (False, 3)
    assert "order-1" in outcome.refused


# --- projections --------------------------------------------------------------------------


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


# --- eventual consistency, time travel, keying ---------------------------------------------


def test_the_read_model_lags_between_catch_ups_and_then_catches_up() -> None:
    run = eventual_consistency(seconds=10, orders_per_second=4, projector_every_s=2, tick_s=0.25)
    assert run.writes == 40
    assert run.stale_reads == run.writes  # a read straight after a write never sees it
    assert run.max_lag == 4 * 2  # everything written since the last catch-up
    assert run.final_lag == 0
    faster = eventual_consistency(orders_per_second=4, projector_every_s=0.5)
    assert faster.max_lag == 2 < run.max_lag


@pytest.mark.parametrize("read_after_s", [0.0, 0.5, 1.0, 1.75, 2.0, 3.0])
def test_a_read_misses_a_write_unless_the_projector_ran_in_between(read_after_s: float) -> None:
    run = eventual_consistency(
        seconds=10, orders_per_second=4, projector_every_s=2, read_after_s=read_after_s
    )
    # Worked out by hand, tick by tick (a tick is 0.25 s; one order per tick; the projector
    # runs at the end of ticks 8, 16, ..., 40): the order written in tick w is read in tick
    # w + delay, before that tick's catch-up; it is seen if a catch-up ran in ticks w..due-1.
    delay = round(read_after_s / 0.25)
    catch_ups = set(range(8, 41, 8))
    stale = 0
    for written in range(1, 41):
        due = written + delay
        if due > 40:
            continue  # read after the end, when everything has been projected
        stale += not any(written <= c < due for c in catch_ups)
    assert run.stale_reads == stale


def test_time_travel_shows_each_position() -> None:
    store = order_history(3)  # positions 1-3 created, 4 approved o0, 5 cancelled o1, 6 o2
    travel = TimeTravel(store, Order, OrderSummaries)
    start = travel.at(0)
    assert (start.aggregates, start.read_model.statuses(), start.event) == ({}, {}, None)
    middle = travel.at(4)
    assert {i: a.status for i, a in middle.aggregates.items()} == {
        "o0": "approved",
        "o1": "created",
        "o2": "created",
    }
    assert middle.read_model.statuses() == {"o0": "approved", "o1": "created", "o2": "created"}
    assert middle.event is not None and middle.event.position == 4
    end = travel.at(6)
    assert end.read_model.statuses() == statuses_from_aggregates(store)


async def test_keying_by_event_type_breaks_the_read_model_and_by_order_id_does_not() -> None:
    async with InMemoryBroker() as broker:
        by_type = await keying_trial(broker, "event_type")
        by_id = await keying_trial(broker, "order_id")
    assert by_type.truth == by_id.truth == statuses_from_aggregates(order_history(6))
    assert by_type.wrong == ["o2", "o3", "o4", "o5"]  # seeded, the same on every run
    assert all(by_type.read_model[o] == "created" for o in by_type.wrong)
    assert all(len(set(p)) == 2 for p in by_type.partitions.values())
    assert by_id.wrong == []
    assert all(len(set(p)) == 1 for p in by_id.partitions.values())
