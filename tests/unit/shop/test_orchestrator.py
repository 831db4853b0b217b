"""Lesson 15's orchestrated saga: the same outcomes as the choreographed shop under the same
audit, a restarted orchestrator that goes on from its log, the semantic lock, and a refund the
bank declines (retried, then parked for a person, then resumed)."""

from __future__ import annotations

import pytest

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.explorer import events
from eda_lib.shop import PaymentRefunded, Shop
from eda_lib.shop.orchestrated import OrchestratedShop
from eda_lib.shop.orchestrator import (
    COMMANDS,
    MAX_REFUND_ATTEMPTS,
    RefundDeclined,
    Saga,
    SagaCommand,
    SagaEnded,
    SagaParked,
    decide,
)
from tests.unit.shop.scenario import ORDERS, memory

MORE = [*ORDERS, ("o-4", "ann", 30_000), ("o-5", "cy", 8_000), ("o-6", "bob", 20_000)]


def _commanded(saga: Saga, event: Event) -> SagaCommand:
    decision = decide(saga, event)
    assert isinstance(decision, SagaCommand), decision
    with saga.caused_by(event):
        saga.record(decision)
    recorded = saga.pending_events[-1]
    assert isinstance(recorded, SagaCommand)
    return recorded


def test_decide_moves_only_on_the_answer_to_the_command_it_waits_on() -> None:
    created = OrderCreated(order_id="o-1", customer_id="ann", amount=1_000)
    saga = Saga("o-1")
    charge = _commanded(saga, created)
    assert charge.step == "charge" and charge.amount == 1_000
    assert decide(saga, created) is None  # the order again: the saga has begun
    money = {"payment_id": "pay-o-1", "order_id": "o-1", "amount": 1_000, "currency": "USD"}
    stray = created.follow_up(PaymentSuccessful, **money)  # not an answer to the charge
    assert decide(saga, stray) is None
    paid = charge.follow_up(PaymentSuccessful, stable_id=True, **money)
    ship = _commanded(saga, paid)
    assert ship.step == "ship" and saga.path == ["charge", "ship"]
    assert decide(saga, paid) is None  # the same payment, delivered again


def test_a_saga_is_rebuilt_from_its_events_alone() -> None:
    created = OrderCreated(order_id="o-2", customer_id="bob", amount=25_000)
    saga = Saga("o-2")
    _commanded(saga, created)
    again = Saga.from_events("o-2", saga.pending_events)
    assert again.state() == saga.state() and again.step == "charge"


async def test_the_same_orders_end_the_same_way_choreographed_and_orchestrated() -> None:
    broker = memory()
    async with Shop(broker) as shop, OrchestratedShop(broker) as orchestrated:
        for order in MORE:
            shop.place(*order)
            orchestrated.place(*order)
        await shop.run()
        await orchestrated.run()
        chain, hub = await shop.audit(), await orchestrated.audit()
        assert chain.consistent and hub.consistent, (str(chain), str(hub))
        assert {o.order_id: o.outcome for o in hub.orders} == {
            o.order_id: o.outcome for o in chain.orders
        }
        assert hub.outcomes() == {"declined": 2, "refunded": 1, "shipped": 3}
        ended = [e for e in await events(broker, COMMANDS) if isinstance(e, SagaEnded)]
        assert sorted(e.order_id for e in ended) == [o for o, _, _ in MORE]


async def test_a_restarted_orchestrator_goes_on_from_its_log_and_decides_nothing_twice() -> None:
    async with OrchestratedShop(memory()) as orchestrated:
        for order in MORE:
            orchestrated.place(*order)
        await orchestrated.run(rounds=3)
        before = orchestrated.orchestrator.table()
        assert any(row["step"] not in ("ended", "new") for row in before)
        restarted = await orchestrated.restart_orchestrator(forget_commits=True)
        assert restarted.table() == before and restarted.decided == 0
        await orchestrated.run()
        checked = await orchestrated.audit()
        assert checked.consistent and not checked.problems(), str(checked)
        assert restarted.unmoved > 0  # what it read again moved no saga
        assert orchestrated.restarts == 1


async def test_the_semantic_lock_no_reader_sees_an_order_approved_that_is_cancelled() -> None:
    broker = memory()
    async with Shop(broker) as shop, OrchestratedShop(broker) as orchestrated:
        for order in MORE:
            shop.place(*order)
            orchestrated.place(*order)
        await shop.run()
        await orchestrated.run()
        chain = [e for e in await shop.events() if e.event_type.startswith("Order")]
        hub = [e for e in await orchestrated.events() if e.event_type.startswith("Order")]

    def approved_then_cancelled(found: list[Event]) -> set[str]:
        approved = {e.order_id for e in found if isinstance(e, OrderApproved)}
        return approved & {e.order_id for e in found if isinstance(e, OrderCancelled)}

    assert approved_then_cancelled(chain) == {"o-3"}
    assert approved_then_cancelled(hub) == set()


async def test_a_declined_refund_is_retried_then_parked_then_resumed() -> None:
    declines = {"o-3": 1, "q-1": MAX_REFUND_ATTEMPTS + 5}
    async with OrchestratedShop(memory(), declines=declines) as orchestrated:
        orchestrated.place("o-3", "cy", 150_000)
        orchestrated.place("q-1", "cy", 160_000)
        await orchestrated.run()
        retried, parked = (orchestrated.orchestrator.saga(o) for o in ("o-3", "q-1"))
        assert retried.outcome == "refunded" and retried.path.count("refund") == 2
        refunds = [e for e in await orchestrated.events() if isinstance(e, PaymentRefunded)]
        assert [r.reason.split(":")[0] for r in refunds] == ["shipment failed"]  # not the bank's
        assert parked.step == "parked" and parked.path.count("refund") == MAX_REFUND_ATTEMPTS
        alerts = await orchestrated.parked()
        assert [(a.order_id, a.step, a.attempts) for a in alerts] == [
            ("q-1", "refund", MAX_REFUND_ATTEMPTS)
        ]
        assert "card account is closed" in alerts[0].reason
        declined = [e for e in await orchestrated.events() if isinstance(e, RefundDeclined)]
        assert len(declined) == 1 + MAX_REFUND_ATTEMPTS
        stuck = await orchestrated.audit()
        assert stuck.outcome("q-1") == "unfinished" and not stuck.problems()
        assert "refunded" in next(o for o in stuck.orders if o.order_id == "q-1").waiting_for

        with pytest.raises(ValueError, match="not parked"):
            orchestrated.orchestrator.resume("o-3", note="nothing to resume")
        orchestrated.payments.declines["q-1"] = 0
        orchestrated.orchestrator.resume("q-1", note="paid by bank transfer")
        await orchestrated.run()
        settled = await orchestrated.audit()
        assert settled.consistent and settled.outcome("q-1") == "refunded"
        story = await orchestrated.story("q-1")
        assert isinstance(story[-1], SagaEnded)  # the resumed steps are in the order's story
        assert any(isinstance(e, SagaParked) for e in story)
        with pytest.raises(KeyError, match="no order 'nope'"):
            await orchestrated.story("nope")


async def test_a_policy_that_gives_up_at_once_parks_at_the_first_decline() -> None:
    def park_at_once(saga: Saga, declined: RefundDeclined) -> Event:
        return saga.park(f"declined: {declined.reason}")

    async with OrchestratedShop(memory(), declines={"o-3": 1}, policy=park_at_once) as shop:
        shop.place("o-3", "cy", 150_000)
        await shop.run()
        assert shop.orchestrator.saga("o-3").step == "parked"
        await shop.restart_orchestrator()
        assert shop.orchestrator.policy is park_at_once  # a restart keeps the shop's policy
