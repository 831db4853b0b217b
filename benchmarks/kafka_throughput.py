"""Throughput of KafkaBroker against plain aiokafka, on the same local Kafka broker.

Each side has its own topic (one partition), producer and consumer, with the same client settings
(acks=all, idempotence, linger, poll size) and the same CloudEvents binary-mode bytes and headers:
each encodes with `KafkaBinary` on produce, decodes on consume, and commits once per polled
batch. The eda side adds the Producer, Consumer, Broker adapter and trace, so the ratio is what
that adapter costs.

This machine's speed drifts by a third over a few seconds, so two runs one after the other
measure the drift as much as the code. The sides therefore take turns a step at a time: a step
produces 1,000 events and consumes them back, and the side that goes first alternates. Each
side's time is the sum of its steps; a round is 100,000 events per side, on fresh topics and
clients, after one untimed step each to connect and join. The figure is the median of the
rounds' ratios. Last line: one JSON object.
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
from eda_lib.brokers.base import DEAD_LETTER_SUFFIX
from eda_lib.brokers.kafka import KafkaBroker
from eda_lib.codecs import KafkaBinary
from eda_lib.kafka_local import LocalKafka, bootstrap_from_env

STEP = 1000  # events produced, acknowledged and consumed back per turn
POLL = 500  # records per poll, on both sides


def make_events(count: int) -> list[PaymentSuccessful]:
    return [
        PaymentSuccessful(
            payment_id=f"pay-{i}", order_id=f"order-{i}", amount=1000 + i % 5000, currency="usd"
        )
        for i in range(count)
    ]


class EdaSide:
    """Producer and Consumer over KafkaBroker, as a lesson uses them."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topic = f"bench-eda-{uuid.uuid4().hex[:8]}"
        self.received: list[Event] = []

    async def open(self) -> None:
        self.broker = await KafkaBroker.connect(self.bootstrap)
        await self.broker.create_topic(self.topic, partitions=1)
        self.producer = Producer(self.broker, "bench")

        def collect(event: PaymentSuccessful) -> None:
            self.received.append(event)

        self.consumer = Consumer(
            self.broker,
            f"{self.topic}-group",
            self.topic,
            collect,
            name="c",
            batch_size=POLL,
            commit="batch",
        )
        await self.consumer.start()

    async def step(self, events: list[PaymentSuccessful]) -> None:
        await self.producer.send_all(self.topic, events, chunk=STEP)
        report = await self.consumer.run(max_events=len(events), timeout=60)
        assert report.handled == len(events), report

    async def close(self) -> None:
        await self.consumer.stop()
        for name in (self.topic, f"{self.topic}{DEAD_LETTER_SUFFIX}"):
            await self.broker.delete_topic(name)  # a pile of logs would slow later rounds
        await self.broker.close()


class PlainSide:
    """AIOKafkaProducer and AIOKafkaConsumer, written the way their documentation shows."""

    def __init__(self, bootstrap: str, settings: dict[str, Any], consumer: dict[str, Any]):
        self.bootstrap = bootstrap
        self.settings, self.consumer_settings = settings, consumer
        self.topic = f"bench-plain-{uuid.uuid4().hex[:8]}"
        self.codec = KafkaBinary()
        self.received: list[Event] = []

    async def open(self) -> None:
        self.admin = await KafkaBroker.connect(self.bootstrap)  # to create the topic alike
        await self.admin.create_topic(self.topic, partitions=1)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, **self.settings)
        self.consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=f"{self.topic}-group",
            auto_offset_reset="earliest",
            **self.consumer_settings,
        )
        await self.producer.start()
        await self.consumer.start()

    async def step(self, events: list[PaymentSuccessful]) -> None:
        codec, producer = self.codec, self.producer
        pending = []
        for event in events:
            value, headers = codec.encode(event)
            key = event.key.encode() if event.key else None
            # No partition given: aiokafka's default partitioner hashes the key with murmur2,
            # the same work KafkaBroker does to place a key.
            pending.append(await producer.send(self.topic, value, key=key, headers=list(headers)))
        await asyncio.gather(*pending)
        wanted = len(self.received) + len(events)
        while len(self.received) < wanted:
            batches = await self.consumer.getmany(timeout_ms=1000, max_records=POLL)
            for records in batches.values():
                self.received.extend(codec.decode(r.value, tuple(r.headers)) for r in records)
            if batches:
                await self.consumer.commit()

    async def close(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.admin.delete_topic(self.topic)
        await self.admin.close()


async def one_round(
    bootstrap: str, events: list[PaymentSuccessful], settings: dict[str, Any], consumer: Any
) -> tuple[float, float]:
    """Seconds each side spent on `events`, taking turns a step at a time: (eda, plain)."""
    eda, plain = EdaSide(bootstrap), PlainSide(bootstrap, settings, consumer)
    await eda.open()
    await plain.open()
    try:
        warm_up, timed = events[:STEP], events[STEP:]
        await eda.step(warm_up)
        await plain.step(warm_up)
        spent = {eda: 0.0, plain: 0.0}
        for turn, first in enumerate(range(0, len(timed), STEP)):
            step = timed[first : first + STEP]
            for side in (eda, plain) if turn % 2 else (plain, eda):
                started = time.perf_counter()
                await side.step(step)
                spent[side] += time.perf_counter() - started
        assert len(eda.received) == len(plain.received) == len(events)
        return spent[eda], spent[plain]
    finally:
        await eda.close()
        await plain.close()


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
            events = make_events(count + STEP)  # the first step of each side is not timed
        gc.freeze()  # the shared input is not what is measured: keep the collector off it
        probe = KafkaBroker(bootstrap)
        settings, consumer = probe.producer_settings(), probe.consumer_settings()
        times = [await one_round(bootstrap, events, settings, consumer) for _ in range(rounds)]
    finally:
        if local is not None:
            await asyncio.to_thread(local.stop)
    ratios = [plain / eda for eda, plain in times]
    return {
        "events": count,
        "rounds": rounds,
        "eda_events_per_s": round(count / statistics.median(eda for eda, _ in times)),
        "aiokafka_events_per_s": round(count / statistics.median(plain for _, plain in times)),
        "ratio_vs_aiokafka": round(statistics.median(ratios), 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "broker_start_s": round(broker_start_s, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.rounds))))
