"""Throughput of KafkaBroker against plain aiokafka, on the same local Kafka broker.

Both sides produce and then consume the same PaymentSuccessful events through one topic with one
partition, with the same client settings (acks=all, idempotence, linger, poll size), sending the
same CloudEvents binary-mode bytes and headers: each side encodes with `KafkaBinary` on produce
and decodes on consume, and commits once per polled batch. The eda side adds the Producer,
Consumer, Broker adapter and trace, so the ratio is what that adapter costs. Sides alternate,
and each is timed end to end (produce, then consume everything back). The ratio is the median
of the rounds' own ratios (each round: one plain run, then one eda run). Last line: one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from eda_lib import Consumer, Event, PaymentSuccessful, Producer, quiet_kafka_logs, reproducible
from eda_lib.brokers.kafka import KafkaBroker
from eda_lib.codecs import KafkaBinary
from eda_lib.kafka_local import LocalKafka, bootstrap_from_env

CHUNK = 1000  # sends in flight before waiting for their acknowledgements, on both sides


def make_events(count: int) -> list[PaymentSuccessful]:
    return [
        PaymentSuccessful(
            payment_id=f"pay-{i}", order_id=f"order-{i}", amount=1000 + i % 5000, currency="usd"
        )
        for i in range(count)
    ]


async def through_eda(bootstrap: str, events: list[PaymentSuccessful]) -> float:
    broker = await KafkaBroker.connect(bootstrap)
    topic = f"bench-eda-{uuid.uuid4().hex[:8]}"
    await broker.create_topic(topic, partitions=1)
    received: list[Event] = []

    def collect(event: PaymentSuccessful) -> None:
        received.append(event)

    consumer = Consumer(
        broker, f"{topic}-group", topic, collect, name="c", batch_size=500, commit="batch"
    )
    started = time.perf_counter()
    await Producer(broker, "bench").send_all(topic, events, chunk=CHUNK)
    await consumer.start()
    report = await consumer.run(max_events=len(events), timeout=600)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await broker.close()
    assert report.handled == len(received) == len(events), report
    return len(events) / elapsed


async def through_aiokafka(
    bootstrap: str,
    events: list[PaymentSuccessful],
    settings: dict[str, Any],
    consumer_settings: dict[str, Any],
) -> float:
    codec = KafkaBinary()
    setup = await KafkaBroker.connect(bootstrap)  # only to create the topic the same way
    topic = f"bench-plain-{uuid.uuid4().hex[:8]}"
    await setup.create_topic(topic, partitions=1)
    await setup.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **settings)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
        **consumer_settings,
    )
    received: list[Event] = []
    await producer.start()
    started = time.perf_counter()
    for first in range(0, len(events), CHUNK):
        pending = []
        for event in events[first : first + CHUNK]:
            value, headers = codec.encode(event)
            key = event.key.encode() if event.key else None
            # No partition given: aiokafka's default partitioner hashes the key with murmur2,
            # the same work KafkaBroker does to place a key.
            pending.append(await producer.send(topic, value, key=key, headers=list(headers)))
        await asyncio.gather(*pending)
    await consumer.start()
    while len(received) < len(events):
        batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        for records in batches.values():
            received.extend(codec.decode(r.value, tuple(r.headers)) for r in records)
        if batches:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return len(events) / elapsed


async def main(count: int, rounds: int) -> dict[str, object]:
    quiet_kafka_logs()  # aiokafka's notes on coordinator moves would fall between the figures
    broker_start_s = 0.0
    local = None
    bootstrap = bootstrap_from_env()
    if bootstrap is None:
        began = time.perf_counter()
        local = await asyncio.to_thread(LocalKafka().start)
        broker_start_s = time.perf_counter() - began
        bootstrap = local.bootstrap
    try:
        with reproducible(seed=0):
            events = make_events(count)
        gc.freeze()  # the shared input is not what is measured: keep the collector off it
        probe = KafkaBroker(bootstrap)
        settings, consumer_settings = probe.producer_settings(), probe.consumer_settings()
        eda_rates, plain_rates = [], []
        for _ in range(rounds):
            plain_rates.append(
                await through_aiokafka(bootstrap, events, settings, consumer_settings)
            )
            eda_rates.append(await through_eda(bootstrap, events))
    finally:
        if local is not None:
            await asyncio.to_thread(local.stop)
    ratios = [eda / plain for eda, plain in zip(eda_rates, plain_rates, strict=True)]
    return {
        "events": count,
        "rounds": rounds,
        "eda_events_per_s": round(statistics.median(eda_rates)),
        "aiokafka_events_per_s": round(statistics.median(plain_rates)),
        "ratio_vs_aiokafka": round(statistics.median(ratios), 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "broker_start_s": round(broker_start_s, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.rounds))))
