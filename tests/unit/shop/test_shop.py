"""Lesson 15's shop: the saga's outcomes and compensations, one order's story, the failure lab
applied (a service down, a poison event, a broker outage)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import reproducible
from eda_lib.connect import open_broker
from eda_lib.domain.orders import OrderShipped
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.explorer import events, events_by_partition
from eda_lib.faults import ConsumerFaults, CrashOnce
from eda_lib.messaging import Consumer, Producer
from eda_lib.shop import CARD_LIMITS, CARRIER_LIMIT, PAYMENTS, REVENUE, TOPICS, Shop, UnknownService
from tests.unit.shop.scenario import ORDERS, memory


def expected(customer: str, amount: int) -> str:
    """The outcome the shop's rules promise, worked out here without the shop."""
    if amount > CARD_LIMITS[customer]:
        return "declined"
    return "refunded" if amount > CARRIER_LIMIT else "shipped"


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


async def test_a_long_outage_outlasts_the_retries_and_the_audit_names_the_parked_event() -> None:
    async with Shop(memory()) as shop:
        shop.place("o-1", "ann", 12_000)
        await shop.publish_orders()
        shop.outage(60)  # longer than the ~31 s the retries wait in all
        await shop.run()
        checked = await shop.audit()
        assert not checked.consistent and checked.outcome("o-1") == "unfinished"
        waiting = checked.orders[0].waiting_for
        assert "OrderCreated is parked by shop-payments: handler_error" in waiting, waiting
        shop.broker.clock.advance(60)  # type: ignore[attr-defined]  # the broker is back
        await shop.poison()  # a record no one can read: redrive must leave it parked
        await shop.run()
        assert await shop.redrive() == 1 and await shop.redrive() == 0  # each goes back once
        await shop.run()
        assert (await shop.audit()).consistent


async def test_an_order_still_in_the_outbox_is_unfinished_not_missing() -> None:
    async with Shop(memory()) as shop:
        await shop.take_down("orders")
        shop.place("o-1", "ann", 12_000)
        await shop.run()
        checked = await shop.audit()
        assert not checked.consistent
        assert checked.orders[0].waiting_for == "publishing: it is still in the outbox"


async def test_a_crash_before_the_commit_is_skipped_on_redelivery_as_already_applied() -> None:
    crash = ConsumerFaults(crash_before_commit=CrashOnce(frozenset({"o-1"})))
    async with Shop(memory(), faults={"payments": crash}) as shop:
        shop.place("o-1", "ann", 12_000)
        await shop.run()
        checked = await shop.audit()
        assert shop.restarts == 1 and checked.consistent and checked.repeats == 0
        assert shop.services["payments"].reader.duplicates == 1  # type: ignore[union-attr]


async def test_handled_again_with_its_memory_lost_a_service_publishes_the_same_event() -> None:
    async with Shop(memory()) as shop:
        shop.place("o-1", "ann", 12_000)
        await shop.run()
        payments = shop.services["payments"].reader
        assert isinstance(payments, Consumer)
        shop.idempotency["payments"].forget()  # type: ignore[attr-defined]
        for partition in await payments.assignment():  # as if its commits never happened
            await payments.seek(partition, 0)
        await shop.run()
        checked = await shop.audit()
        assert checked.repeats == 1  # the payment again: the same id, so one fact
        assert checked.consistent and checked.outcome("o-1") == "shipped"
        assert shop.read_model.statuses() == {"o-1": "shipped"}


async def test_analytics_counts_a_repeated_payment_once_and_survives_a_restart() -> None:
    with reproducible(seed=3) as repro:  # event times on the broker's virtual clock
        await _analytics_check(Shop(InMemoryBroker(seed=1, clock=repro.clock)))


async def _analytics_check(shop: Shop) -> None:
    async with shop:
        shop.place("o-1", "ann", 12_000)
        shop.place("o-2", "cy", 30_000)
        await shop.run()
        paid = next(e for e in await shop.events() if isinstance(e, PaymentSuccessful))
        repeat = await Producer(shop.broker, "payments").send(PAYMENTS, paid)  # again, same id
        await shop.take_down("analytics")
        await shop.bring_up("analytics")
        shop.broker.clock.advance(120)  # type: ignore[attr-defined]
        for n in range(3, 12):  # later payments close the first minute on every partition
            shop.place(f"o-{n}", "ann", 1_000)
        await shop.run()
        by_hand: Counter[tuple[int, datetime]] = Counter()
        found = await events_by_partition(shop.broker, PAYMENTS, skip_unreadable=True)
        for partition, payments in found.items():
            for p in {e.id: e for e in payments if isinstance(e, PaymentSuccessful)}.values():
                by_hand[partition, p.time.replace(second=0, microsecond=0)] += p.amount
        revenue = {
            (r.source_partition, r.window_start): r.total
            for r in await events(shop.broker, REVENUE)
        }
        assert (repeat.partition, paid.time.replace(second=0, microsecond=0)) in revenue
        assert revenue == {slot: total for slot, total in by_hand.items() if slot in revenue}
