"""What `Producer.send_all` on `KafkaBroker` adds per event, with no broker and no network.

A stand-in for aiokafka's producer acknowledges every send at once, so that what is left is the
client-side work: on one side the plain loop a user of aiokafka writes (encode with `KafkaBinary`,
encode the key, let aiokafka's default partitioner hash it, send, gather the acknowledgements
every 1,000 sends), on the other `Producer.send_all` through `KafkaBroker` (the same codec, its
own partitioner, with its cache emptied each round, the trace, the delivery reports). The sides
alternate over rounds; the best round of each is kept. `adapter_us_per_event` is the difference.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from types import SimpleNamespace
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from payments import make_events  # the script's folder is on sys.path

from eda_lib import PaymentSuccessful, Producer, reproducible
from eda_lib.codecs import KafkaBinary
from eda_lib.kafka import KafkaBroker

ACKS_EVERY = 1000
STAMP_MS = 1_767_603_600_000  # 2026-01-05 09:00 UTC, as Kafka stamps records: milliseconds


class InstantProducer:
    """Takes the place of AIOKafkaProducer: each send is acknowledged before it returns."""

    def __init__(self) -> None:
        self.partitioner = DefaultPartitioner()
        self.sent = 0

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        headers: Any = None,
    ) -> asyncio.Future[Any]:
        if partition is None:  # what aiokafka does when it is not told the partition
            partition = self.partitioner(key, [0], [0])
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(
            SimpleNamespace(partition=partition, offset=self.sent, timestamp=STAMP_MS)
        )
        self.sent += 1
        return acknowledged

    async def flush(self) -> None:
        """Nothing waits."""


async def through_plain(events: list[PaymentSuccessful]) -> float:
    codec, producer = KafkaBinary(), InstantProducer()
    started = time.perf_counter()
    for first in range(0, len(events), ACKS_EVERY):
        pending = []
        for event in events[first : first + ACKS_EVERY]:
            value, headers = codec.encode(event)
            key = event.key.encode() if event.key else None
            pending.append(await producer.send("payments", value, key=key, headers=list(headers)))
        await asyncio.gather(*pending)
    return (time.perf_counter() - started) / len(events)


async def through_eda(events: list[PaymentSuccessful]) -> float:
    broker = KafkaBroker("127.0.0.1:9")  # never connected: the stand-in takes its producer's place
    broker._topics.partitions["payments"] = 1  # what create_topic would have cached
    broker._producer = InstantProducer()
    producer = Producer(broker, "bench", codec=KafkaBinary())
    started = time.perf_counter()
    await producer.send_all("payments", events, chunk=ACKS_EVERY)
    elapsed = time.perf_counter() - started
    assert len(producer.reports) == len(events)
    return elapsed / len(events)


async def main(count: int, rounds: int) -> dict[str, float | int]:
    with reproducible(seed=0):
        events = make_events(count)
    gc.freeze()  # the shared input is not what is measured: keep the collector off it
    eda, plain = [], []
    for _ in range(rounds):
        plain.append(await through_plain(events))
        eda.append(await through_eda(events))
        gc.collect()
    return {
        "events": count,
        "rounds": rounds,
        "plain_us_per_event": round(min(plain) * 1e6, 2),
        "eda_us_per_event": round(min(eda) * 1e6, 2),
        "adapter_us_per_event": round((min(eda) - min(plain)) * 1e6, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.rounds))))
