"""The teaching core's own pieces: its event, its producer and its consumer loop, on its own
broker and on `InMemoryBroker` (its docstring promises both)."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, dataclass

import pytest

from eda_lib import InMemoryBroker
from eda_lib.core import Consumer, CoreBroker, Event, Producer
from eda_lib.core.broker import CommitFailed, TopicPartition


@dataclass(frozen=True, kw_only=True)
class CorePayment(Event):
    payment_id: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class CoreRefund(CorePayment):
    reason: str = ""


def test_an_event_is_cloudevents_json_and_reads_back_as_its_class() -> None:
    payment = CorePayment(payment_id="p-1", amount=12_000, subject="order-1")
    document = json.loads(payment.encode())
    assert document["specversion"] == "1.0" and document["type"] == "CorePayment"
    assert document["subject"] == "order-1" and document["data"] == {
        "payment_id": "p-1",
        "amount": 12_000,
    }
    assert Event.decode(payment.encode()) == payment
    with pytest.raises(FrozenInstanceError):
        payment.amount = 1  # type: ignore[misc]



@pytest.mark.parametrize("make", [CoreBroker, InMemoryBroker], ids=["core", "in-memory"])
async def test_the_core_consumer_picks_handlers_by_annotation_and_parks_what_fails(
    make: type[CoreBroker] | type[InMemoryBroker],
) -> None:
    broker = make()
    await broker.create_topic("payments", 2)
    producer = Producer(broker)  # type: ignore[arg-type]
    sent = [
        CorePayment(payment_id=f"p-{i}", amount=100 + i, subject=f"o-{i % 2}") for i in range(4)
    ]
    for event in sent:
        await producer.send("payments", event)
    await producer.send("payments", CoreRefund(payment_id="r-1", amount=5, subject="o-1"))
    await broker.produce("payments", b"not json", key=b"o-0")
    payments: list[str] = []
    refunds: list[str] = []

    def pay(event: CorePayment) -> None:
        if event.payment_id == "p-3":
            raise ValueError("card declined")
        payments.append(event.payment_id)

    async def refund(event: CoreRefund) -> None:  # the nearest class wins, async or not
        refunds.append(event.payment_id)

    consumer = Consumer(broker, "billing", ["payments"], [pay, refund], start="earliest")  # type: ignore[arg-type]
    assert await consumer.run(max_events=10) == 6
    assert sorted(payments) == ["p-0", "p-1", "p-2"] and refunds == ["r-1"]
    assert consumer.dead_lettered == 2
    parked = await broker.read("payments.dead-letter", 0)
    reasons = sorted((r.header("dlt-reason") or b"").decode() for r in parked)
    assert reasons[0].startswith("JSONDecodeError") and reasons[1] == "ValueError: card declined"
    again = Consumer(
        broker, "billing", ["payments"], [pay, refund], name="member-2", start="earliest"
    )  # type: ignore[arg-type]
    assert await again.run(max_events=10) == 0  # everything was committed, the bad ones too


async def test_a_core_consumer_starts_where_it_is_told_when_its_group_is_new() -> None:
    broker = CoreBroker()
    await broker.create_topic("payments")
    producer = Producer(broker)
    await producer.send("payments", CorePayment(payment_id="old", amount=1))
    seen: list[str] = []
    late = Consumer(
        broker, "late", ["payments"], [lambda e: seen.append(e.payment_id)], start="latest"
    )
    assert await late.run(max_events=5) == 0
    early = Consumer(
        broker, "early", ["payments"], [lambda e: seen.append(e.payment_id)], start="earliest"
    )
    assert await early.run(max_events=5) == 1 and seen == ["old"]


async def test_a_stale_commit_is_refused_and_what_was_not_committed_comes_again() -> None:
    broker = CoreBroker()
    await broker.create_topic("t", 2)
    await broker.produce("t", b"x", key=b"k")
    await broker.join("g", ["t"], member="a", start="earliest")
    batch = await broker.poll("g", "a")
    assert len(batch.records) == 1 and batch.caught_up
    await broker.join(
        "g", ["t"], member="b", start="earliest"
    )  # a rebalance: a's batch is from an older generation
    record = batch.records[0]
    tp = TopicPartition(record.topic, record.partition)
    with pytest.raises(CommitFailed, match="rebalanced"):
        await broker.commit("g", "a", {tp: 1}, generation=batch.generation)
    owner = "a" if tp in await broker.assignment("g", "a") else "b"
    assert [r.offset for r in (await broker.poll("g", owner)).records] == [0]


async def test_the_core_deals_round_robin_across_topics_as_the_in_memory_broker_does() -> None:
    shares = []
    for broker in (CoreBroker(), InMemoryBroker()):
        for topic in ("payments", "refunds"):
            await broker.create_topic(topic, partitions=4)
        for member in ("m1", "m2", "m3"):
            await broker.join("g", ["payments", "refunds"], member=member, start="earliest")
        shares.append([await broker.assignment("g", m) for m in ("m1", "m2", "m3")])
    assert [len(owned) for owned in shares[0]] == [3, 3, 2]  # not 4, 2, 2: the turn carries on
    assert shares[0] == shares[1]
