"""Time travel (lesson 10): the read model and the aggregates as they were at each position."""

from __future__ import annotations

from eda_lib.cqrs import TimeTravel
from eda_lib.domain import Order, OrderSummaries
from eda_lib.labs import order_history
from tests.unit.cqrs.oracles import statuses_from_aggregates


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
