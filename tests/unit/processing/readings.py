"""Sensor readings at given seconds, and the windowed count: run, and counted by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from eda_lib import Broker
from eda_lib.domain import SensorReading
from eda_lib.processing import Tumbling, WindowCounted, WindowedCount

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


TEN = timedelta(seconds=10)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def reading(sensor: str, seconds: float, celsius: float = 60.0) -> SensorReading:
    return SensorReading(sensor_id=sensor, celsius=celsius, measured_at=at(seconds))


def by_hand(readings: list[SensorReading], watermark: datetime) -> dict[tuple[str, datetime], int]:
    """The oracle: readings per sensor per 10 s window, for the windows closed at `watermark`."""
    counts: Counter[tuple[str, datetime]] = Counter()
    for r in readings:
        start = T0 + (r.measured_at - T0) // TEN * TEN
        if start + TEN <= watermark:
            counts[r.sensor_id, start] += 1
    return dict(counts)


def counted(results: list[WindowCounted]) -> dict[tuple[str, datetime], int]:
    return {(r.key, r.window_start): r.count for r in results}


async def processor(broker: Broker, **options: object) -> WindowedCount:
    defaults: dict[str, object] = {
        "source": "readings",
        "sink": "counts",
        "group": "counter",
        "window": Tumbling(TEN),
        "key": lambda e: e.sensor_id,
        "event_time": lambda e: e.measured_at,
        "batch_size": 7,
    }
    return WindowedCount(broker, **{**defaults, **options})  # type: ignore[arg-type]
