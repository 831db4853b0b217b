"""Lesson 15's orchestrated saga on a real Kafka broker: the same orders end as the rules say,
the audit finds it consistent after the orchestrator restarts mid-saga, and a refund the bank
keeps declining parks its saga where an operator sees it."""

from __future__ import annotations

import pytest

from eda_lib.connect import open_broker
from eda_lib.domain.orders import OrderCreated
from eda_lib.shop import expected_outcome
from eda_lib.shop.orchestrated import OrchestratedShop
from eda_lib.shop.orchestrator import MAX_REFUND_ATTEMPTS, SAGA_TOPICS

pytestmark = pytest.mark.kafka
ORDERS = [
    ("o-1", "ann", 12_000),
    ("o-2", "bob", 25_000),
    ("o-3", "cy", 150_000),
    ("o-4", "ann", 30_000),
    ("q-1", "cy", 160_000),
]


async def test_the_orchestrated_saga_on_kafka(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)  # the session's broker, not a new one
    async with (
        await open_broker("kafka", fresh=SAGA_TOPICS) as broker,
        OrchestratedShop(broker, declines={"q-1": 99}) as orchestrated,
    ):
        for order in ORDERS:
            orchestrated.place(*order)
        await orchestrated.run(rounds=2)
        before = orchestrated.orchestrator.table()
        restarted = await orchestrated.restart_orchestrator(forget_commits=True)
        assert restarted.table() == before
        for _ in range(5):  # Kafka may answer a round late: run until the sagas settle
            await orchestrated.run()
            if await orchestrated.parked():
                break
        checked = await orchestrated.audit()
        assert not checked.problems(), str(checked)
        assert restarted.unmoved > 0  # it read its events again, and they moved no saga
        placed = {
            s.event.order_id: s.event
            for s in orchestrated.store.read_all()
            if isinstance(s.event, OrderCreated)
        }
        assert sorted(placed) == sorted(o.order_id for o in checked.orders)
        for order in checked.orders:
            if order.order_id != "q-1":
                assert order.outcome == expected_outcome(placed[order.order_id]), str(checked)
        assert checked.outcome("q-1") == "unfinished"
        alerts = await orchestrated.parked()
        assert [(a.order_id, a.attempts) for a in alerts] == [("q-1", MAX_REFUND_ATTEMPTS)]
