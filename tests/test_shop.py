"""Lesson 15's shop: the saga's outcomes and compensations, one order's story, the failure lab
applied (a service down, a poison event, a broker outage), and the audit that judges it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.connect import open_broker
from eda_lib.domain.orders import OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.shop import (
    CARD_LIMITS,
    CARRIER_LIMIT,
    TOPICS,
    Shop,
    ShopOrders,
    UnknownService,
    audit,
)

ORDERS = [("o-1", "ann", 12_000), ("o-2", "bob", 25_000), ("o-3", "cy", 150_000)]


def expected(customer: str, amount: int) -> str:
    """The outcome the shop's rules promise, worked out here without the shop."""
    if amount > CARD_LIMITS[customer]:
        return "declined"
    return "refunded" if amount > CARRIER_LIMIT else "shipped"


def memory() -> InMemoryBroker:
    return InMemoryBroker(seed=1, clock=VirtualClock())


async def test_each_order_ends_as_the_rules_say_and_the_shop_is_consistent() -> None:
    async with Shop(memory()) as shop:
        for order in ORDERS:
            shop.place(*order)
        await shop.run()
        checked = await shop.audit()
        assert checked.consistent, str(checked)
        assert {o.order_id: o.outcome for o in checked.orders} == {
            o: expected(c, a) for o, c, a in ORDERS
        }
        assert shop.read_model.statuses() == {
            "o-1": "shipped",
            "o-2": "cancelled",
            "o-3": "cancelled",
        }
        rows = {row["order"]: row for row in shop.read_model.table()}
        assert "card declined" in str(rows["o-2"]["why"])
        assert "refunded" in str(rows["o-3"]["why"]) and all(r["emailed"] for r in rows.values())


async def test_one_orders_story_is_its_whole_saga_each_event_under_its_cause() -> None:
    async with Shop(memory()) as shop:
        shop.place("o-3", "cy", 150_000)
        await shop.run()
        chain = await shop.story("o-3")
        names = [type(e).__name__ for e in chain]
        assert names[0] == "OrderCreated" and len({e.correlation for e in chain}) == 1
        for step in ("PaymentSuccessful", "ShipmentFailed", "PaymentRefunded", "OrderCancelled"):
            assert step in names
        by_id = {e.id: e for e in chain}
        assert all(e.causation_id in by_id for e in chain[1:])  # every effect's cause is there
        assert names.index("PaymentRefunded") < names.index("OrderCancelled")
        with pytest.raises(KeyError, match="place it"):
            await shop.story("o-404")


async def test_a_service_down_leaves_lag_and_catches_up_without_loss() -> None:
    async with Shop(memory()) as shop:
        await shop.take_down("shipping")
        for order in ORDERS:
            shop.place(*order)
        await shop.run()
        assert (await shop.lag())["shipping"] == 3  # three payments wait; two are to ship
        assert [o.outcome for o in (await shop.audit()).orders] == [
            "unfinished",
            "declined",
            "unfinished",
        ]
        await shop.bring_up("shipping")
        await shop.run()
        assert (await shop.audit()).consistent and (await shop.lag())["shipping"] == 0
        with pytest.raises(UnknownService, match="use one of"):
            await shop.take_down("billing")


async def test_a_poison_event_is_dead_lettered_by_each_reader_with_its_reason() -> None:
    async with Shop(memory()) as shop:
        shop.place("o-1", "ann", 12_000)
        await shop.poison()
        await shop.run()
        letters = await shop.dead_letters()
        groups = sorted(letter.group for letter in letters)
        assert groups == ["shop-analytics", "shop-orders", "shop-read-model", "shop-shipping"]
        assert {letter.reason for letter in letters} == {"not_json"}
        assert (await shop.audit()).consistent  # the good order went through all the same


async def test_a_broker_outage_is_waited_out_by_the_outbox_and_the_retries() -> None:
    async with Shop(memory()) as shop:
        shop.place("o-1", "ann", 12_000)
        await shop.publish_orders()
        shop.outage(10)
        shop.place("o-2", "cy", 20_000)
        assert await shop.publish_orders() == 0  # the store keeps it
        await shop.run()
        assert shop.retries()["payments"] >= 1  # its send failed, and was tried again
        checked = await shop.audit()
        assert checked.consistent and len(checked.orders) == 2
        assert not await shop.dead_letters()


async def test_a_redelivered_event_makes_the_same_follow_up_and_is_applied_once() -> None:
    paid = PaymentSuccessful(payment_id="p", order_id="o", amount=100, currency="USD")
    first = paid.follow_up(OrderShipped, stable_id=True, order_id="o")
    again = paid.follow_up(OrderShipped, stable_id=True, order_id="o")
    assert first.id == again.id and first.causation_id == paid.id
    assert paid.follow_up(OrderShipped, order_id="o").id != first.id


def _saga(order_id: str, *, shipped_twice: bool = False) -> list[Event]:
    created = OrderCreated(order_id=order_id, customer_id="ann", amount=100)
    paid = created.follow_up(
        PaymentSuccessful, payment_id="p", order_id=order_id, amount=100, currency="USD"
    )
    from eda_lib.domain.orders import OrderApproved
    from eda_lib.shop import CustomerEmailed

    shipped = paid.follow_up(OrderShipped, order_id=order_id)
    events = [created, paid, paid.follow_up(OrderApproved, order_id=order_id), shipped]
    events.append(shipped.follow_up(CustomerEmailed, order_id=order_id, about="on its way"))
    if shipped_twice:
        events.append(paid.follow_up(OrderShipped, order_id=order_id))
    return events


def test_the_audit_skips_repeats_but_catches_a_second_shipment() -> None:
    events = _saga("o-1")
    assert audit(events + events[:3]).consistent and audit(events + events[:3]).repeats == 3
    doubled = audit(_saga("o-1", shipped_twice=True))
    assert not doubled.consistent and doubled.problems() == ["o-1: shipped 2 times"]
    unfinished = audit(_saga("o-1")[:2])
    assert not unfinished.consistent and unfinished.orders[0].waiting_for == "a shipment"


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_read_model_is_the_same_whatever_order_events_arrive_in(rng: random.Random) -> None:
    events = _saga("o-1") + _saga("o-2")
    in_order, shuffled = ShopOrders(), ShopOrders()
    for event in events:
        in_order.apply(event)
    mixed = list(events)
    rng.shuffle(mixed)
    for event in mixed:
        shuffled.apply(event)
    assert shuffled.table() == in_order.table()


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
async def any_broker(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "kafka":
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        request.getfixturevalue("monkeypatch").setenv("KAFKA_BOOTSTRAP", bootstrap)
    async with await open_broker(request.param, fresh=TOPICS) as opened:
        yield opened


async def test_the_same_shop_runs_on_either_broker(any_broker) -> None:  # type: ignore[no-untyped-def]
    async with Shop(any_broker) as shop:
        for order in ORDERS:
            shop.place(*order)
        await shop.run()
        checked = await shop.audit()
        assert checked.consistent, str(checked)
        assert checked.outcomes() == {"declined": 1, "refunded": 1, "shipped": 1}
