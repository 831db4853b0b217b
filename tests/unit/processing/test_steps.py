"""Stateless steps (lesson 14): transform, keep and enrich, composed."""

from __future__ import annotations

from eda_lib.domain import TemperatureAlert
from eda_lib.processing import enrich, keep, transform
from eda_lib.processing.steps import apply
from tests.unit.processing.readings import reading


def test_stateless_steps_compose() -> None:
    hot = reading("s1", 1, 90)
    steps = [
        keep(lambda e: e.celsius > 75),
        enrich(
            {"s1": "boiler room"},
            lambda e: e.sensor_id,
            lambda e, room: e.revised(sensor_id=f"{e.sensor_id}@{room}"),
        ),
        transform(
            lambda e: e.follow_up(
                TemperatureAlert, sensor_id=e.sensor_id, celsius=e.celsius, threshold=75
            )
        ),
    ]
    out = apply(steps, hot)
    assert isinstance(out, TemperatureAlert) and out.sensor_id == "s1@boiler room"
    assert apply(steps, reading("s1", 1, 20)) is None  # filtered
    assert apply(steps, reading("s9", 1, 99)) is None  # no row in the table: dropped
