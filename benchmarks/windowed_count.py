"""A tumbling-window count per key through `eda_lib.processing`, against a plain-Python loop.

Each round, 100,000 sensor readings (100 sensors, one reading each per second) are produced to a
new in-memory broker before anything is timed, as a lesson starts on a new broker. Then, in turn:

- the processor: `WindowedCount` in a consumer group, 10 s tumbling windows per sensor, run as
  a lesson runs it (the trace on, offsets committed after each polled batch, closed windows
  published to an output topic);
- the plain loop: the same serialised events, deserialised with the same codec, counted in a
  dict keyed by (sensor, window start).

Both pay the codec; the processor also pays the broker, the commits, the trace and the window
bookkeeping, which is what the ratio measures. The two results are checked equal (the
processor's closed windows against the loop's counts for the same windows). Each figure is the
best round. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from eda_lib import InMemoryBroker, Producer, deserialize, reproducible
from eda_lib.clock import COURSE_START
from eda_lib.domain import SensorReading
from eda_lib.processing import Tumbling, WindowedCount

SIZE = timedelta(seconds=10)


def readings(count: int, sensors: int) -> list[SensorReading]:
    with reproducible(seed=14):
        return [
            SensorReading(
                sensor_id=f"sensor-{n % sensors}",
                celsius=60.0 + n % 7,
                measured_at=COURSE_START + timedelta(seconds=n // sensors),
            )
            for n in range(count)
        ]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(moment: datetime) -> datetime:
    """The start of the 10 s window `moment` is in, by plain arithmetic."""
    return EPOCH + (moment - EPOCH) // SIZE * SIZE


def plain_loop(values: list[bytes]) -> Counter[tuple[str, datetime]]:
    counts: Counter[tuple[str, datetime]] = Counter()
    for value in values:
        event = deserialize(value)
        assert isinstance(event, SensorReading)
        counts[event.sensor_id, window_start(event.measured_at)] += 1
    return counts


async def through_processor(broker: InMemoryBroker, group: str) -> dict[tuple[str, datetime], int]:
    processor = WindowedCount(
        broker,
        source="readings",
        sink="counts",
        group=group,
        window=Tumbling(SIZE),
        key=lambda event: event.sensor_id,  # type: ignore[attr-defined]
        event_time=lambda event: event.measured_at,  # type: ignore[attr-defined]
        batch_size=500,
    )
    async with processor:
        await processor.run()
    return {(r.counted_key, r.window_start): r.count for r in processor.results}


async def loaded_broker(events: list[SensorReading]) -> tuple[InMemoryBroker, list[bytes]]:
    """A new broker holding the readings: each round starts as a lesson does, with an empty
    trace (a trace kept across rounds would grow, and slow the later rounds)."""
    broker = InMemoryBroker()
    for topic in ("readings", "counts"):
        await broker.create_topic(topic)
    await Producer(broker, "sensors").send_all("readings", events)
    values = [r.value for r in await broker.read("readings", 0, limit=len(events))]
    assert len(values) == len(events)
    return broker, values


async def main(count: int, sensors: int, rounds: int) -> dict[str, float | int | bool]:
    events = readings(count, sensors)
    gc.collect()
    gc.freeze()  # the input is not what is measured
    processor_s, loop_s = [], []
    same = True
    for round_number in range(rounds):  # alternate, so drift hits both sides alike
        broker, values = await loaded_broker(events)  # not timed
        gc.collect()
        started = time.perf_counter()
        counted = await through_processor(broker, f"counter-{round_number}")
        processor_s.append(time.perf_counter() - started)
        await broker.close()
        started = time.perf_counter()
        by_loop = plain_loop(values)
        loop_s.append(time.perf_counter() - started)
        closed = {window: n for window, n in by_loop.items() if window in counted}
        same = same and counted == closed and len(counted) >= len(by_loop) - sensors
    best_processor, best_loop = min(processor_s), min(loop_s)
    return {
        "events": count,
        "rounds": rounds,
        "windows_published": len(counted),
        "results_equal": same,
        "events_per_s": round(count / best_processor),
        "plain_loop_events_per_s": round(count / best_loop),
        "ratio_vs_plain_loop": round(best_loop / best_processor, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sensors", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments.events, arguments.sensors, arguments.rounds))
    if not figures["results_equal"]:
        raise SystemExit("the processor and the plain loop disagree: " + json.dumps(figures))
    print(json.dumps(figures))
