"""Throughput of KafkaBroker against plain aiokafka, on the same local Kafka broker.

Each side has its own topic (one partition), producer and consumer, with the same client settings
(acks=all, idempotence, linger, poll size) and the same CloudEvents binary-mode bytes and headers:
each encodes with `KafkaBinary` on produce, decodes on consume, and commits once per polled
batch. The eda side adds the Producer, Consumer, Broker adapter and trace, so the ratio is what
that adapter costs.

This machine's speed drifts by a third over a few seconds, so two runs one after the other
measure the drift as much as the code. The sides therefore take turns a step at a time: a step
produces 5,000 events (waiting for acknowledgements every 1,000) and consumes them back, and the
side that goes first alternates, from step to step and from round to round. Each side's time is
the sum of its steps, on the wall clock and in CPU time; a round is 100,000 events per side, on
fresh topics and clients, after one untimed step each to connect and join. Both sides count what
they receive rather than keep it, so that neither side's garbage weighs on the other's steps. The
figures are medians of the rounds' ratios. `--check` races plain aiokafka against itself: how far
the method strays when both sides are the same. Last line: one JSON object.
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
from payments import make_events  # the script's folder is on sys.path

from eda_lib import Consumer, PaymentSuccessful, Producer, quiet_kafka_logs, reproducible
from eda_lib.brokers.base import DEAD_LETTER_SUFFIX
from eda_lib.codecs import KafkaBinary
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import LocalKafka, bootstrap_from_env

STEP = 5000  # events produced, acknowledged and consumed back per turn
ACKS_EVERY = 1000  # sends in flight before waiting for their acknowledgements, on both sides
POLL = 500  # records per poll, on both sides


class EdaSide:
    """Producer and Consumer over KafkaBroker, as a lesson uses them."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.topic = f"bench-eda-{uuid.uuid4().hex[:8]}"
        self.received = 0

    async def open(self) -> None:
        self.broker = await KafkaBroker.connect(self.bootstrap)
        await self.broker.create_topic(self.topic, partitions=1)
        self.producer = Producer(self.broker, "bench", codec=KafkaBinary())

        def collect(event: PaymentSuccessful) -> None:
            self.received += 1

        self.consumer = Consumer(
            self.broker,
            f"{self.topic}-group",
            self.topic,
            collect,
            name="c",
            batch_size=POLL,
            commit="batch",
            codec=KafkaBinary(),
            start="earliest",
        )
        await self.consumer.start()

    async def step(self, events: list[PaymentSuccessful]) -> None:
        await self.producer.send_all(self.topic, events, chunk=ACKS_EVERY)
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
        self.received = 0

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
        for first in range(0, len(events), ACKS_EVERY):
            pending = []
            for event in events[first : first + ACKS_EVERY]:
                value, headers = codec.encode(event)
                key = event.key.encode() if event.key else None
                # No partition given: aiokafka's own partitioner hashes the key with murmur2
                # (KafkaBroker hashes it itself, with a faster murmur2, and names the partition).
                pending.append(
                    await producer.send(self.topic, value, key=key, headers=list(headers))
                )
            await asyncio.gather(*pending)
        wanted = self.received + len(events)
        give_up = time.monotonic() + 60  # as the eda side's run(timeout=60)
        while self.received < wanted:
            if time.monotonic() > give_up:
                raise TimeoutError(f"{wanted - self.received} events did not come back")
            batches = await self.consumer.getmany(timeout_ms=1000, max_records=POLL)
            for records in batches.values():
                for r in records:
                    codec.decode(r.value, tuple(r.headers))
                    self.received += 1
            if batches:
                await self.consumer.commit()

    async def close(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.admin.delete_topic(self.topic)
        await self.admin.close()


Side = EdaSide | PlainSide


async def one_round(
    sides: tuple[Side, Side], events: list[PaymentSuccessful], first_goes: int
) -> list[tuple[float, float]]:
    """(wall, CPU) seconds each side spent on `events`, taking turns a step at a time."""
    order = sides if first_goes == 0 else sides[::-1]
    for side in order:
        await side.open()
    try:
        warm_up, timed = events[:STEP], events[STEP:]
        for side in order:
            await side.step(warm_up)
        wall, cpu = [0.0, 0.0], [0.0, 0.0]
        for turn, first in enumerate(range(0, len(timed), STEP)):
            step = timed[first : first + STEP]
            for i in (0, 1) if (turn + first_goes) % 2 == 0 else (1, 0):
                started, used = time.perf_counter(), time.process_time()
                await sides[i].step(step)
                wall[i] += time.perf_counter() - started
                cpu[i] += time.process_time() - used
        assert sides[0].received == sides[1].received == len(events)
        return [(wall[0], cpu[0]), (wall[1], cpu[1])]
    finally:
        for side in order:
            await side.close()
        gc.collect()  # between rounds, untimed


async def main(count: int, rounds: int, check: bool = False) -> dict[str, object]:
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

        def pair() -> tuple[Side, Side]:
            first: Side = PlainSide(bootstrap, settings, consumer) if check else EdaSide(bootstrap)
            return first, PlainSide(bootstrap, settings, consumer)

        times = [await one_round(pair(), events, n % 2) for n in range(rounds)]
    finally:
        if local is not None:
            await asyncio.to_thread(local.stop)
    ratios = [plain[0] / eda[0] for eda, plain in times]
    cpu_ratios = [plain[1] / eda[1] for eda, plain in times]
    name = "aiokafka_again" if check else "eda"
    return {
        "events": count,
        "rounds": rounds,
        f"{name}_events_per_s": round(count / statistics.median(eda[0] for eda, _ in times)),
        "aiokafka_events_per_s": round(count / statistics.median(plain[0] for _, plain in times)),
        "ratio_vs_aiokafka": round(statistics.median(ratios), 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "cpu_ratio_vs_aiokafka": round(statistics.median(cpu_ratios), 3),
        "broker_start_s": round(broker_start_s, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--check", action="store_true", help="plain aiokafka against itself: the method's noise"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.rounds, args.check))))
