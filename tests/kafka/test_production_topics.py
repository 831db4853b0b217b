"""Issue 23's production topics on a real Kafka broker: retry topics deliver a failing record in
the order of their delays while the main topic goes on, and a count by a new key is whole once
the events are repartitioned by that key. (Compaction is in the broker contract, static
membership in test_rebalance.py, the paused leader in test_paused_leader.py.)"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from eda_lib import Consumer, PaymentSuccessful, Producer
from eda_lib.brokers.base import UnknownTopic
from eda_lib.core.broker import Record
from eda_lib.explorer import events_by_partition
from eda_lib.kafka import KafkaBroker
from eda_lib.resilience_topics import DEAD_LETTER, TOPICS, Attempt, drain

pytestmark = pytest.mark.kafka

MINUTE = 0.2  # seconds per "minute" of the retry topics' delays: 1m is 0.2 s, 10m is 2 s


@pytest.fixture
async def retry_topics(broker: KafkaBroker) -> AsyncIterator[KafkaBroker]:
    async def delete() -> None:  # their names are fixed: start from empty ones, leave none
        for topic in TOPICS:
            with contextlib.suppress(UnknownTopic):
                await broker.delete_topic(topic)

    await delete()
    for topic in TOPICS:
        await broker.create_topic(topic, partitions=1)
    yield broker
    await delete()


async def test_retry_topics_deliver_in_the_order_of_their_delays(
    retry_topics: KafkaBroker,
) -> None:
    broker = retry_topics
    await broker.produce("payments", b"stuck", key=b"order-1")
    await broker.produce("payments", b"fine", key=b"order-2")
    tries: Counter[bytes] = Counter()

    def handle(record: Record) -> None:  # "stuck" fails twice, then goes through
        assert record.value is not None
        tries[record.value] += 1
        if record.value == b"stuck" and tries[b"stuck"] <= 2:
            raise TimeoutError("the carrier did not answer")

    log: list[Attempt] = []
    run = uuid.uuid4().hex[:6]
    for topic in TOPICS[:3]:
        await drain(broker, f"retry-{run}-{topic}", topic, handle, minute=MINUTE, log=log)
    seen = [(a.topic, a.value, bool(a.failed)) for a in log]
    assert seen == [
        ("payments", b"stuck", True),
        ("payments", b"fine", False),  # not held up behind the failing record
        ("payments.retry.1m", b"stuck", True),
        ("payments.retry.10m", b"stuck", False),
    ]
    waited = [(a.at - log[0].at).total_seconds() for a in log]
    assert waited[2] >= 1 * MINUTE and waited[3] >= (1 + 10) * MINUTE  # each waited its delay
    assert await broker.read(DEAD_LETTER, 0) == []


async def test_retry_topics_park_what_keeps_failing_in_the_dead_letter_topic(
    retry_topics: KafkaBroker,
) -> None:
    broker = retry_topics
    await broker.produce("payments", b"stuck", key=b"order-1")

    def handle(record: Record) -> None:
        raise TimeoutError("the carrier did not answer")

    log: list[Attempt] = []
    run = uuid.uuid4().hex[:6]
    for topic in TOPICS[:3]:
        await drain(broker, f"retry-{run}-{topic}", topic, handle, minute=MINUTE, log=log)
    [parked] = await broker.read(DEAD_LETTER, 0)
    assert (parked.key, parked.value) == (b"order-1", b"stuck")
    assert parked.header("retry-attempts") == b"3"
    assert [a.topic for a in log] == list(TOPICS[:3])


async def test_repartition_count_equals_a_count_over_all_input(broker: KafkaBroker) -> None:
    run = uuid.uuid4().hex[:8]
    by_order, by_currency = f"by-order-{run}", f"by-currency-{run}"
    for topic in (by_order, by_currency):
        await broker.create_topic(topic, partitions=3)
    currencies = ["USD", "EUR", "JPY", "USD", "USD", "EUR"] * 3
    payments = [
        PaymentSuccessful(payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency=c)
        for n, c in enumerate(currencies)
    ]
    await Producer(broker, "shop").send_all(by_order, payments)  # keyed by order id
    truth = Counter(currencies)

    before = await events_by_partition(broker, by_order)
    partial = [Counter(p.currency for p in found) for found in before.values()]
    assert any(count["USD"] < truth["USD"] for count in partial if count["USD"])  # split up

    async with (
        Consumer(broker, f"repartitioner-{run}", by_order, start="earliest") as mover,
        Producer(broker, "repartitioner") as rekeyed,
    ):
        async for payment in mover.events():
            await rekeyed.send(by_currency, payment, key=payment.currency)
    after = await events_by_partition(broker, by_currency)
    counts = [Counter(p.currency for p in found) for found in after.values()]
    for currency, total in truth.items():
        holding = [count[currency] for count in counts if count[currency]]
        assert holding == [total]  # one partition holds the whole count
    for topic in (by_order, by_currency):
        await broker.delete_topic(topic)
