"""Broker faults on InMemoryBroker, and what a consumer and a producer do about them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eda_lib import BrokerError, Consumer, InMemoryBroker, Producer, VirtualClock
from eda_lib.brokers import partition_for_key
from eda_lib.brokers.base import BrokerUnavailable
from eda_lib.faults import BrokerFaults
from eda_lib.resilience import RetryPolicy
from tests.contract.broker import payment


async def _broker(faults: BrokerFaults, partitions: int = 2) -> InMemoryBroker:
    broker = InMemoryBroker(clock=VirtualClock(), faults=faults)
    await broker.create_topic("payments", partitions=partitions)
    faults_off, broker.faults = broker.faults, None
    for i in range(40):
        await Producer(broker).send("payments", payment(i, order=f"order-{i % 5}"))
    broker.faults = faults_off
    return broker


async def _consume(broker: InMemoryBroker) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    consumer = Consumer(
        broker,
        "g",
        "payments",
        lambda e: seen.append(int(e.amount) - 100),
        name="m",
        batch_size=7,
        start="earliest",
    )
    await consumer.start()
    for _ in range(50):  # bounded: a faulty broker may need a few rounds
        await consumer.run()
        if (await broker.describe()).group("g").total_lag == 0:
            break
    return [(n % 5, n) for n in seen]


def _per_order(seen: list[tuple[int, int]]) -> dict[int, list[int]]:
    orders: dict[int, list[int]] = {}
    for order, n in seen:
        orders.setdefault(order, []).append(n)
    return orders


async def test_a_lost_fetch_response_is_fetched_again() -> None:
    broker = await _broker(BrokerFaults(drop=0.3, seed=1))
    seen = await _consume(broker)
    assert sorted(n for _, n in seen) == list(range(40))  # each once: nothing lost
    dropped = {(h.partition, h.offset) for h in broker.trace.select("dropped")}
    delivered = {(h.partition, h.offset) for h in broker.trace.select("delivered")}
    assert dropped and dropped <= delivered  # every record of a lost response came later
    assert not broker.trace.select("gap")  # the position never moved past a lost response
    assert all(orders == sorted(orders) for orders in _per_order(seen).values())


async def test_duplicated_deliveries_are_skipped_by_offset() -> None:
    broker = await _broker(BrokerFaults(duplicate=0.5, seed=2))
    seen = await _consume(broker)
    assert sorted(n for _, n in seen) == list(range(40))
    assert (
        len(broker.trace.select("duplicated"))
        == len([h for h in broker.trace.select("duplicate") if "offset" in h.detail])
        > 0
    )


async def test_reordering_mixes_partitions_but_keeps_each_in_order() -> None:
    calm = await _consume(await _broker(BrokerFaults()))
    broker = await _broker(BrokerFaults(reorder=True, seed=3))
    mixed = await _consume(broker)
    assert sorted(mixed) == sorted(calm) and mixed != calm
    assert "reordered" in broker.trace.counts()  # the fault left its mark in the trace
    assert _per_order(mixed) == _per_order(calm)  # each order's events still in sequence


async def test_an_outage_refuses_sends_and_a_retrying_producer_rides_it_out() -> None:
    clock = VirtualClock()
    broker = InMemoryBroker(clock=clock, faults=BrokerFaults(outage=True))
    await broker.create_topic("payments")
    with pytest.raises(BrokerUnavailable, match="retry later"):
        await Producer(broker).send("payments", payment(1))
    assert isinstance(BrokerUnavailable("x"), BrokerError)
    assert broker.trace.select("unavailable")

    patient = Producer(broker, retry=RetryPolicy(max_attempts=6, base_delay=1.0, jitter=0))
    given_up = await patient.send_reliably("payments", payment(1))
    assert (given_up.stored, given_up.attempts) == (False, 6) and "down" in given_up.error

    broker.faults = BrokerFaults(outage_until=clock.now() + timedelta(seconds=5))
    outcome = await patient.send_reliably("payments", payment(2))
    assert outcome.stored and outcome.attempts == 4  # waited 1 + 2 + 4 s: past the outage
    assert outcome.report is not None and outcome.report.offset == 0
    assert [o.stored for o in patient.outcomes] == [False, True]


def test_fault_chances_must_be_probabilities() -> None:
    with pytest.raises(ValueError, match="probability"):
        BrokerFaults(drop=1.5)


async def test_records_deleted_by_retention_are_skipped_not_chased() -> None:
    from eda_lib import Retention

    broker = InMemoryBroker(clock=VirtualClock())
    await broker.create_topic("t", retention=Retention(max_records=3))
    producer = Producer(broker)
    for i in range(3):
        await producer.send("t", payment(i))
    seen: list[str] = []
    consumer = Consumer(
        broker,
        "g",
        "t",
        lambda e: seen.append(e.payment_id),
        name="m",
        batch_size=1,
        start="earliest",
    )
    await consumer.start()
    await consumer.run(max_events=1)
    for i in range(3, 10):  # meanwhile retention deletes what the consumer has not read
        await producer.send("t", payment(i))
    report = await consumer.run()
    assert report.stopped_because == "idle"
    assert seen == ["pay-0", "pay-7", "pay-8", "pay-9"]
    [gap] = broker.trace.select("gap")
    assert "deleted by retention" in gap.detail


async def test_a_broker_down_while_dead_lettering_loses_nothing() -> None:
    broker = InMemoryBroker(clock=VirtualClock())
    await broker.create_topic("payments")
    producer = Producer(broker)
    await producer.send("payments", payment(1))
    await broker.produce("payments", b"poison", key=b"k")
    await producer.send("payments", payment(2))
    seen: list[str] = []
    consumer = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="m", start="earliest"
    )
    await consumer.start()
    broker.faults = BrokerFaults(outage=True)  # the dead-letter topic cannot be written
    await consumer.run()
    assert seen == ["pay-1"]  # it stopped at the poison, without committing past it
    broker.faults = None
    await consumer.run()
    assert seen == ["pay-1", "pay-2"]
    assert len(await broker.read("payments.dead-letter", 0)) == 1
    assert (await broker.describe()).group("g").total_lag == 0


async def test_a_record_that_cannot_be_parked_holds_up_only_its_own_partition() -> None:
    broker = InMemoryBroker(clock=VirtualClock())
    await broker.create_topic("payments", partitions=2)
    [k0, k1] = [
        next(f"k{i}" for i in range(100) if partition_for_key(f"k{i}".encode(), 2) == p)
        for p in (0, 1)
    ]
    await broker.produce("payments", b"poison", key=k0.encode())
    producer = Producer(broker)
    for i in range(3):
        await producer.send("payments", payment(i), key=k1)
    seen: list[str] = []
    async with Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), start="earliest"
    ) as c:
        broker.faults = BrokerFaults(outage=True)  # the dead-letter topic cannot be written
        assert (await c.run()).stopped_because == "stalled"
        broker.faults = None
        await c.run()
    assert seen == ["pay-0", "pay-1", "pay-2"]  # the other partition's records were kept
    assert len(await broker.read("payments.dead-letter", 0)) == 1
    assert (await broker.describe()).group("g").total_lag == 0


async def test_a_lost_fetch_response_is_asked_for_again_within_the_poll() -> None:
    broker = await _broker(BrokerFaults(drop=0.5, seed=5))
    handled: list[str] = []
    async with Consumer(
        broker, "g", "payments",
        lambda e: handled.append(e.payment_id), batch_size=4, start="earliest"
    ) as consumer:
        report = await consumer.run()
    assert broker.trace.select("dropped")  # responses were lost ...
    assert (report.handled, report.stopped_because) == (40, "idle")  # ... and asked for again
