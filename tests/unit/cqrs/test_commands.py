"""The command bus (lesson 10): each command to its handler, refusals, and conflicts retried on
fresh state."""

from __future__ import annotations

import pytest

from eda_lib import OrderApproved, OrderCreated
from eda_lib.cqrs import Command, CommandBus, UnknownCommand
from eda_lib.domain import ApproveOrder, CancelOrder, Order, PlaceOrder, order_bus
from eda_lib.sourcing import Repository, RuleBroken
from eda_lib.store import ConcurrencyError, InMemoryEventStore


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
