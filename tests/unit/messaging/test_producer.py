"""Producer behaviour a learner relies on, on the in-memory broker."""

from __future__ import annotations

from typing import ClassVar

import pytest

from eda_lib import Event, InMemoryBroker, Producer
from tests.contract.broker import payment


async def test_send_returns_and_keeps_delivery_reports(broker: InMemoryBroker) -> None:
    producer = Producer(broker, "payment-service")
    report = await producer.send("payments", payment(1))
    assert producer.reports == [report]
    assert str(report) == f"delivered to payments[{report.partition}] at offset 0"
    await producer.flush()
    with pytest.raises(TypeError, match="eda_lib Event"):
        await producer.send("payments", {"amount": 1})  # type: ignore[arg-type]


async def test_an_explicit_key_overrides_the_event_key(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    a = await producer.send("payments", payment(1), key="customer-9")
    b = await producer.send("payments", payment(2), key="customer-9")
    assert a.partition == b.partition
    [record] = await broker.read("payments", a.partition, start=a.offset, limit=1)
    assert record.key == b"customer-9"


class Unkeyed(Event):
    """No subject field, so no key: the broker spreads it."""

    event_type: ClassVar[str] = "tests.messaging.Unkeyed"
    note: str


async def test_send_all_leaves_what_sending_one_by_one_leaves() -> None:
    # send_all records a batch's hops in one call; what a learner reads must not change.
    events = [payment(1), Unkeyed(note="no key"), payment(2, order="one"), payment(3)]
    one_by_one, batched = InMemoryBroker(seed=7), InMemoryBroker(seed=7)
    for broker in (one_by_one, batched):
        await broker.create_topic("payments", partitions=3)
    for event in events:
        await Producer(one_by_one, "p").send("payments", event)
    reports = await Producer(batched, "p").send_all("payments", events)

    def hops(broker: InMemoryBroker, kind: str) -> list[tuple[object, ...]]:
        return [h[3:] for h in broker.trace.select(kind)]  # all but seq, kind and time

    for kind in ("produced", "stored"):
        assert hops(batched, kind) == hops(one_by_one, kind), kind
    assert [h.detail for h in batched.trace.select("produced")] == [
        "key=order-1",
        "no key",
        "key=one",
        "key=order-3",
    ]
    assert [(r.partition, r.offset) for r in reports] == [
        (h.partition, h.offset) for h in one_by_one.trace.select("stored")
    ]
    for partition in range(3):
        a = await one_by_one.read("payments", partition)
        b = await batched.read("payments", partition)
        assert [(r.offset, r.key, r.value) for r in a] == [(r.offset, r.key, r.value) for r in b]


async def test_send_all_refuses_a_chunk_with_something_that_is_not_an_event() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("payments")
    with pytest.raises(TypeError, match="send an eda_lib Event, not dict"):
        await Producer(broker).send_all("payments", [payment(1), {"amount": 5}])  # type: ignore[list-item]
    assert len(broker.trace) == 0  # nothing of that chunk was produced, or said to be
    assert (await broker.describe()).topic("payments")[0].end_offset == 0
