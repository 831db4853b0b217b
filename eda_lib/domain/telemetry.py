"""IoT telemetry (lesson 03, and the processors of lesson 14): sensors publish readings, a rule
turns too-hot readings into alerts, and notifications fan one event out to several channels."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from eda_lib import clock
from eda_lib.events import Event, NonEmptyStr, UtcDatetime


class SensorReading(Event):
    """One temperature reading from one sensor, keyed by sensor so each sensor's readings stay in
    order."""

    default_source: ClassVar[str] = "/sensors"
    subject_field: ClassVar[str | None] = "sensor_id"

    sensor_id: NonEmptyStr
    celsius: float = Field(ge=-90, le=200)
    measured_at: UtcDatetime = Field(default_factory=clock.now)


class TemperatureAlert(Event):
    """A sensor went over its threshold: someone should look at the machine."""

    default_source: ClassVar[str] = "/heat-watch"
    subject_field: ClassVar[str | None] = "sensor_id"

    sensor_id: NonEmptyStr
    celsius: float
    threshold: float


class CustomerNotified(Event):
    """A notification channel told the customer something (lesson 03's fan-out)."""

    default_source: ClassVar[str] = "/notifications"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    channel: NonEmptyStr


def burst(
    sensors: int = 3,
    readings: int = 30,
    *,
    hot_sensor: str = "sensor-2",
    hot_from: int = 18,
    glitch: tuple[str, int] | None = ("sensor-1", 8),
    seed: int = 3,
) -> list[SensorReading]:
    """A burst of readings, one per sensor each second: about 60 °C with a little noise, except
    that `hot_sensor` heats up by 3 °C a second from reading `hot_from` on, and one reading,
    `glitch` (sensor, second), is 20 °C too high, as a loose wire makes it. Seeded, and timed
    from the clock's now, so a lesson prints the same readings on every run."""
    if sensors < 1 or readings < 1:
        raise ValueError(f"give at least one sensor and one reading, not {sensors} and {readings}")
    rng = random.Random(seed)
    start = clock.now()
    made = []
    for second in range(readings):
        for number in range(1, sensors + 1):
            sensor = f"sensor-{number}"
            heating = sensor == hot_sensor and second >= hot_from
            heat = 3.0 * (second - hot_from + 1) if heating else 0.0
            if glitch == (sensor, second):
                heat = 20.0
            made.append(
                SensorReading(
                    sensor_id=sensor,
                    celsius=round(60 + rng.gauss(0, 1.5) + heat, 1),
                    measured_at=start + timedelta(seconds=second),
                )
            )
    return made
