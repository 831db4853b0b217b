"""Faults on a real broker: a consumer cut off mid-batch, and the broker killed mid-produce."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from eda_lib import Consumer, DeliveryReport, Event, PaymentSuccessful, Producer
from eda_lib.codecs import decode_message
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import LocalKafka

pytestmark = pytest.mark.kafka


def payment(i: int) -> PaymentSuccessful:
    return PaymentSuccessful(
        payment_id=f"pay-{i}", order_id=f"order-{i % 7}", amount=100 + i, currency="EUR"
    )


async def test_a_consumer_cancelled_mid_batch_loses_nothing(kafka_bootstrap: str) -> None:
    broker = await KafkaBroker.connect(kafka_bootstrap)
    topic, group = f"faults-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    try:
        await broker.create_topic(topic, partitions=2)
        await Producer(broker).send_all(topic, [payment(i) for i in range(40)])
        handled: list[str] = []
        ten_done = asyncio.Event()

        async def slow(event: Event) -> None:
            assert isinstance(event, PaymentSuccessful)
            handled.append(event.payment_id)
            if len(handled) == 10:
                ten_done.set()
            await asyncio.sleep(0.01)  # the cancellation lands in here, before the commit

        first = Consumer(broker, group, topic, slow, name="first", batch_size=40, start="earliest")
        await first.start()
        running = asyncio.create_task(first.run(max_events=40, timeout=30))
        await asyncio.wait_for(ten_done.wait(), 30)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await first.stop()  # gone without committing what it held

        second = Consumer(broker, group, topic, slow, name="second", start="earliest")
        await second.start()
        await second.run(max_events=40 - 10 + 1, timeout=30)
        await second.run(timeout=2)
        await second.stop()
        counts = Counter(handled)
        assert set(counts) == {f"pay-{i}" for i in range(40)}  # nothing lost
        assert sum(counts.values()) - 40 <= 1  # only the one cut off mid-handler comes twice
    finally:
        await broker.close()


async def test_a_broker_killed_mid_produce_keeps_every_acknowledged_event_once(
    local_kafka: LocalKafka,
) -> None:
    broker = await KafkaBroker.connect(local_kafka.bootstrap)
    topic = "payments"
    acknowledged: dict[str, DeliveryReport] = {}
    refused: list[str] = []
    try:
        await broker.create_topic(topic, partitions=3)
        producer = Producer(broker, "payment-service")

        async def produce_loop() -> None:
            for i in range(300):
                event = payment(i)
                try:
                    acknowledged[event.payment_id] = await asyncio.wait_for(
                        producer.send(topic, event), 60
                    )
                except Exception:  # the broker is down: this send is not acknowledged
                    refused.append(event.payment_id)

        loop = asyncio.create_task(produce_loop())
        while len(acknowledged) < 100:
            await asyncio.sleep(0.005)
        await asyncio.to_thread(local_kafka.kill)
        await asyncio.sleep(1)
        await asyncio.to_thread(local_kafka.start)
        await asyncio.wait_for(loop, 120)
        assert len(acknowledged) + len(refused) == 300
        assert len(acknowledged) >= 200

        in_log: Counter[str] = Counter()
        for partition in range(3):
            for record in await broker.read(topic, partition, limit=10_000):
                in_log[decode_message(record.value, record.headers).payment_id] += 1
        for payment_id, report in acknowledged.items():
            assert in_log[payment_id] == 1, (
                f"{payment_id} ({report}) is in the log {in_log[payment_id]} times"
            )
        assert set(in_log) <= set(acknowledged) | set(refused)  # nothing invented

        seen: list[str] = []
        consumer = Consumer(
            broker, "shipping", topic, lambda e: seen.append(e.payment_id), start="earliest"
        )
        await consumer.start()
        await consumer.run(max_events=sum(in_log.values()), timeout=60)
        await consumer.stop()
        assert set(seen) == set(in_log)  # the consumer caught up with everything stored
    finally:
        await broker.close()


async def test_consumer_faults_act_on_kafka_too(kafka_bootstrap: str) -> None:
    """Crashes, slowness and poison are the consumer's own faults: they need no help from the
    broker, so the same plan runs on real Kafka (with an idempotent consumer: effect once)."""
    from eda_lib import ConsumerFaults, CrashOnce, PaymentFailed
    from eda_lib.resilience import InMemoryProcessedEvents

    broker = await KafkaBroker.connect(kafka_bootstrap)
    topic, group = f"cf-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    try:
        await broker.create_topic(topic, partitions=2)
        producer = Producer(broker)
        await producer.send_all(topic, [payment(i) for i in range(10)])
        await producer.send(
            topic,
            PaymentFailed(
                payment_id="pay-x", order_id="order-x", amount=1, currency="EUR", reason="declined"
            ),
        )
        effects: list[str] = []

        def handle(event: Event) -> None:
            if isinstance(event, PaymentFailed):
                raise ValueError("poison")
            effects.append(event.payment_id)

        faults = ConsumerFaults(
            crash_before_commit=CrashOnce(frozenset({"pay-3", "pay-7"})), slow=0.01
        )
        consumer = Consumer(
            broker,
            group,
            topic,
            handle,
            name="m",
            faults=faults,
            idempotency=InMemoryProcessedEvents(),
            start="earliest",
        )
        for _ in range(5):
            if not consumer.running:
                await consumer.start()
            await consumer.run(max_events=11, timeout=15)
            if (await broker.describe()).group(group).total_lag == 0:
                break
        await consumer.stop()
        assert sorted(effects) == sorted(f"pay-{i}" for i in range(10))  # each once
        assert len(broker.trace.select("crashed")) == 2
        [dead] = await broker.read(topic + ".dead-letter", 0)
        assert dead.header("dlt-reason") == b"handler_error"
    finally:
        await broker.close()
