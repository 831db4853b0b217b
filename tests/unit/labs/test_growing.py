"""Lesson 08's grown topic: keys move when partitions are added, and a group can then handle one
order's approval before its creation, unless it drained the topic before the growth."""

from __future__ import annotations

from eda_lib import InMemoryBroker
from eda_lib.brokers import partition_for_key
from eda_lib.labs import grow_topic

ORDERS = [f"order-{n}" for n in range(1, 13)]


async def test_keys_move_and_crossing_orders_are_handled_out_of_order() -> None:
    growth = await grow_topic(InMemoryBroker(), "t", "g", ORDERS, drain_first=False)
    for order in ORDERS:  # placed by Kafka's rule, by 3 partitions and then by 4
        assert growth.created_on[order] == partition_for_key(order.encode(), 3)
        assert growth.approved_on[order] == partition_for_key(order.encode(), 4)
    assert len(growth.handled) == 2 * len(ORDERS) == len(set(growth.handled))
    assert growth.moved and len(growth.moved) < len(ORDERS)
    assert growth.crossed and set(growth.crossed) <= set(growth.out_of_order)
    assert set(growth.out_of_order) <= set(growth.moved)  # a key that stayed keeps its order
    assert set(growth.owner) == {0, 1, 2, 3} and growth.owner[3] == growth.first


async def test_draining_before_growing_keeps_every_order() -> None:
    growth = await grow_topic(InMemoryBroker(), "t", "g", ORDERS, drain_first=True)
    assert growth.moved and growth.crossed  # the same placement as above...
    assert growth.out_of_order == []  # ...but every creation was handled before the growth
    assert len(growth.handled) == 2 * len(ORDERS)
