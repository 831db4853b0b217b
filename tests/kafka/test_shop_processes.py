"""Lesson 15's deployment: the shop's services as OS processes on Kafka. One is stopped with
SIGTERM and another killed with SIGKILL mid-stream; after they restart, every order has ended
as the rules say, nothing twice, and liveness and lag read from outside say so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eda_lib.connect import open_broker
from eda_lib.shop import CARD_LIMITS, CARRIER_LIMIT, TOPICS
from eda_lib.shop.deploy import Fleet, audit_until_done
from eda_lib.shop.process import read_statuses

pytestmark = pytest.mark.kafka
CUSTOMERS = ("ann", "bob", "cy")
AMOUNTS = (12_000, 60_000, 150_000, 3_000, 40_000)


def order(n: int) -> tuple[str, str, int]:
    return f"o-{n:03d}", CUSTOMERS[n % 3], AMOUNTS[n % 5]


def expected(customer: str, amount: int) -> str:
    if amount > CARD_LIMITS[customer]:
        return "declined"
    return "refunded" if amount > CARRIER_LIMIT else "shipped"


async def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s")


async def test_sigterm_and_sigkill_mid_stream_lose_nothing(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    async with await open_broker("kafka", fresh=TOPICS) as broker:
        for topic in TOPICS:
            await broker.create_topic(topic, partitions=3)
        with Fleet(tmp_path, kafka_bootstrap) as fleet:
            fleet.start_all(slow=0.1)  # slow enough to be caught with work in hand
            for n in range(30):
                fleet.place(*order(n))
            await wait_for(lambda: fleet.read("payments") >= 5)
            assert fleet.kill("payments") == -9
            await wait_for(lambda: fleet.read("shipping") >= 3)
            assert fleet.terminate("shipping") == 0  # finished its event, committed, left
            assert read_statuses(tmp_path)["shipping"].state == "stopped"

            for n in range(30, 40):  # the shop keeps taking orders meanwhile
                fleet.place(*order(n))
            code, table = fleet.status()
            assert code == 1, table  # liveness: two services are not alive
            rows = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
            assert rows["payments"][1] == "no" and rows["shipping"][1] == "no"
            assert rows["orders"][1] == "yes"
            await wait_for(lambda: _lag(fleet, "payments") >= 10, timeout=30)

            fleet.start("payments")
            fleet.start("shipping")
            checked = await audit_until_done(broker, orders=40, timeout=120)
            assert checked.consistent, str(checked)
            assert {o.order_id: o.outcome for o in checked.orders} == {
                o: expected(c, a) for o, c, a in map(order, range(40))
            }
            code, table = fleet.status()
            assert code == 0, table
            lag = {row.split()[0]: int(row.split()[-1]) for row in table.splitlines()[1:]}
            # Analytics commits only below its open windows (lesson 14), so until the minute
            # closes, the payments in it still count as its lag.
            assert {s: n for s, n in lag.items() if s != "analytics"} == dict.fromkeys(
                ("orders", "payments", "shipping", "notifications"), 0
            ), table
            assert set(fleet.stop_all().values()) == {0}


def _lag(fleet: Fleet, service: str) -> int:
    _, table = fleet.status()
    for line in table.splitlines()[1:]:
        cells = line.split()
        if cells[0] == service and cells[-1].isdigit():
            return int(cells[-1])
    return -1
