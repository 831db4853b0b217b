"""The shop's read model (lesson 15): the same whatever order the events arrive in."""

from __future__ import annotations

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib.events import Event
from eda_lib.shop import Shop, ShopOrders
from tests.unit.shop.scenario import ORDERS, memory


async def _three_endings() -> list[Event]:
    async with Shop(memory()) as shop:
        for order in ORDERS:
            shop.place(*order)
        await shop.run()
        return await shop.events()


SAGAS = asyncio.run(_three_endings())  # shipped, declined, refunded: every kind of fact


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_read_model_is_the_same_whatever_order_events_arrive_in(rng: random.Random) -> None:
    in_order, shuffled = ShopOrders(), ShopOrders()
    for event in SAGAS:
        in_order.apply(event)
    mixed = list(SAGAS)
    rng.shuffle(mixed)
    for event in mixed:
        shuffled.apply(event)
    assert shuffled.table() == in_order.table()
    assert in_order.statuses() == {"o-1": "shipped", "o-2": "cancelled", "o-3": "cancelled"}
