"""Throughput of eda_lib's in-memory pipeline against FastStream's in-memory Kafka test broker.

The same N `PaymentSuccessful` objects go through both. FastStream: a `KafkaBroker` with one
subscriber whose handler takes the event by its annotation, run under `TestKafkaBroker`, which
calls the handler from inside `publish` (no partition log, offsets, groups or commits), with its
logger off as our trace is (FastStream 0.5 logs two lines per message otherwise); each event is
published on its own, keyed by its order, serialised by pydantic to JSON and validated back into
the event class for the handler. eda_lib: `InMemoryBroker(trace=False)`, a `Producer` sending
each event (CloudEvents JSON), one `Consumer` in one group committing each event, with a handler
typed by annotation, run until all are handled. Every handler keeps the ids it gets, and both
sides are checked to have handled the N events with the same ids, in order, after every round.

Each side's time covers setting up its broker and consumer (small beside N events) and the N
events. The sides alternate round by round, and who goes first alternates too; each rate is the
best round's. `ratio_vs_faststream` is our events/s over FastStream's: above 1, we are faster.
Entries of `extra_sides(events)` (name -> async function of the events returning how many it
handled) are timed in the same rounds and reported as `<name>_events_per_s` and
`ratio_<name>_vs_faststream`: today the teaching core (`eda_lib.core`: its broker, producer and
consumer loop, on dataclass events with the same fields, made before the clock starts).
`--check` races FastStream against itself: how far the method strays when both sides are the
same. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from uuid import UUID

from faststream.kafka import KafkaBroker, TestKafkaBroker
from payments import make_events  # the script's folder is on sys.path

from eda_lib import Consumer, InMemoryBroker, PaymentSuccessful, Producer, core, reproducible

TOPIC = "payments"
Side = Callable[[list[PaymentSuccessful]], Awaitable[int]]
"""Runs the events through one pipeline; returns how many its handler handled."""


@dataclass(frozen=True, kw_only=True)
class CorePayment(core.Event):
    payment_id: str
    order_id: str
    amount: int
    currency: str


def extra_sides(events: list[PaymentSuccessful]) -> dict[str, Side]:
    """More pipelines to time beside ours: the teaching core, on its own events."""
    mine = [
        CorePayment(
            payment_id=e.payment_id,
            order_id=e.order_id,
            amount=e.amount,
            currency=e.currency,
            subject=e.key,
        )
        for e in events
    ]

    async def through_core(_: list[PaymentSuccessful]) -> int:
        broker = core.CoreBroker()
        await broker.create_topic(TOPIC, partitions=1)
        producer = core.Producer(broker)
        handled: list[str] = []

        async def ship(event: CorePayment) -> None:
            handled.append(event.payment_id)

        for event in mine:
            await producer.send(TOPIC, event)
        await core.Consumer(broker, "shipping", [TOPIC], [ship], start="earliest").run(
            max_events=len(mine)
        )
        assert handled == [e.payment_id for e in mine]
        return len(handled)

    return {"core": through_core}


async def through_eda(events: list[PaymentSuccessful], seen: list[UUID]) -> int:
    broker = InMemoryBroker(trace=False)
    await broker.create_topic(TOPIC, partitions=1)
    producer = Producer(broker, "payment-service")

    async def ship(event: PaymentSuccessful) -> None:
        seen.append(event.id)

    consumer = Consumer(broker, "shipping", TOPIC, ship, name="shipping-1", start="earliest")
    await consumer.start()

    async def produce() -> None:
        for event in events:
            await producer.send(TOPIC, event)
        await producer.flush()

    _, report = await asyncio.gather(produce(), consumer.run(max_events=len(events), timeout=600))
    await consumer.stop()
    return report.handled


async def through_faststream(events: list[PaymentSuccessful], seen: list[UUID]) -> int:
    broker = KafkaBroker(logger=None)  # no line per message (FastStream 0.5 logs each), as no trace

    @broker.subscriber(TOPIC)
    async def ship(event: PaymentSuccessful) -> None:
        seen.append(event.id)

    async with TestKafkaBroker(broker) as test_broker:
        for event in events:
            await test_broker.publish(event, TOPIC, key=event.key.encode() if event.key else None)
    return len(seen)


async def main(count: int, rounds: int, check: bool = False) -> dict[str, object]:
    with reproducible(seed=0):
        events = make_events(count)
    ids = [event.id for event in events]
    gc.freeze()  # the shared input is not what is measured: keep the collector off it
    seen: dict[str, list[UUID]] = {"eda": [], "faststream": []}
    sides: dict[str, Side] = {
        "eda": partial(through_eda, seen=seen["eda"]),
        "faststream": partial(through_faststream, seen=seen["faststream"]),
    }
    if check:  # in place of ours: FastStream again, under the name ours would have
        sides["eda"] = partial(through_faststream, seen=seen["eda"])
    sides.update(extra_sides(events))
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for n in range(rounds):
        order = list(sides) if n % 2 == 0 else list(sides)[::-1]  # who goes first alternates
        for name in order:
            started = time.perf_counter()
            handled = await sides[name](events)
            elapsed = time.perf_counter() - started
            assert handled == count, f"{name} handled {handled} of {count} events"
            if name in seen:
                assert seen[name] == ids, f"{name} handled other events than those sent"
                seen[name].clear()
            rates[name].append(count / elapsed)
            gc.collect()  # between sides, untimed
    best = {name: max(values) for name, values in rates.items()}
    theirs = best["faststream"]
    ours = "faststream_again_events_per_s" if check else "events_per_s"
    ratio = "check_ratio_faststream_vs_itself" if check else "ratio_vs_faststream"
    figures: dict[str, object] = {
        "events": count,
        "rounds": rounds,
        "faststream_version": version("faststream"),
        ours: round(best["eda"]),
        "faststream_events_per_s": round(theirs),
        ratio: round(best["eda"] / theirs, 3),
    }
    for name in [name for name in sides if name not in seen]:
        figures[f"{name}_events_per_s"] = round(best[name])
        figures[f"ratio_{name}_vs_faststream"] = round(best[name] / theirs, 3)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--check", action="store_true", help="FastStream against itself: the method's noise"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.events, args.rounds, args.check))))
