"""Lesson 03's sensor readings: a seeded burst with its glitch and its fire, and validation."""

from __future__ import annotations

from eda_lib import reproducible
from eda_lib.domain import SensorReading, TemperatureAlert, burst
from eda_lib.viz import plot_readings


def test_the_sensor_burst_is_seeded_and_has_its_glitch_and_its_fire() -> None:
    with reproducible(seed=3):
        first = burst(sensors=3, readings=30)
    with reproducible(seed=3):
        again = burst(sensors=3, readings=30)
    assert [r.celsius for r in first] == [r.celsius for r in again]
    assert len(first) == 90 and {r.sensor_id for r in first} == {"sensor-1", "sensor-2", "sensor-3"}
    hot = [r for r in first if r.celsius > 75]
    glitch = [r for r in hot if r.sensor_id == "sensor-1"]
    assert len(glitch) == 1
    assert (glitch[0].measured_at - first[0].measured_at).total_seconds() == 8
    assert all(r.sensor_id in ("sensor-1", "sensor-2") for r in hot)
    alert = hot[-1].follow_up(
        TemperatureAlert, sensor_id=hot[-1].sensor_id, celsius=hot[-1].celsius, threshold=75
    )
    figure = plot_readings(first, [alert], threshold=75)
    assert len(figure.axes[0].collections) == 1  # the alert's cross


def test_a_reading_is_validated() -> None:
    import pytest

    from eda_lib import InvalidEvent

    with pytest.raises(InvalidEvent) as caught:
        SensorReading(sensor_id="s", celsius=500.0)
    assert caught.value.field == "celsius"
