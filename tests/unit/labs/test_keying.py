"""Lesson 10's keying pitfall on the in-memory broker."""

from __future__ import annotations

from eda_lib import InMemoryBroker
from eda_lib.labs import keying_trial, order_history
from tests.unit.cqrs.oracles import statuses_from_aggregates


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
