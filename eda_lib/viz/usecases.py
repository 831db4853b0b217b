"""Pictures of lesson 03's small systems: sensor readings over time with the threshold and the
alerts a rule raised on them."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from eda_lib.domain.telemetry import SensorReading, TemperatureAlert

_PALETTE = ("#4c72b0", "#55a868", "#8172b2", "#937860", "#da8bc3")


def plot_readings(
    readings: Sequence[SensorReading],
    alerts: Sequence[TemperatureAlert] = (),
    *,
    threshold: float | None = None,
    title: str = "",
) -> Figure:
    """One line per sensor (°C against seconds since the first reading), the threshold as a
    dashed line, and a red cross on each reading that caused an alert."""
    figure = Figure(figsize=(9.0, 3.4), dpi=100)
    ax = figure.add_subplot()
    start = min((r.measured_at for r in readings), default=None)

    def seconds(reading: SensorReading) -> float:
        return (reading.measured_at - start).total_seconds() if start else 0.0

    sensors = sorted({r.sensor_id for r in readings})
    for n, sensor in enumerate(sensors):
        mine = [r for r in readings if r.sensor_id == sensor]
        xs, ys = [seconds(r) for r in mine], [r.celsius for r in mine]
        ax.plot(xs, ys, marker=".", lw=1.2, color=_PALETTE[n % len(_PALETTE)], label=sensor)
    causes = {r.id: r for r in readings}
    alerted = [causes[a.causation_id] for a in alerts if a.causation_id in causes]
    if alerted:
        ax.scatter(
            [seconds(r) for r in alerted],
            [r.celsius for r in alerted],
            marker="x",
            s=90,
            color="#c44e52",
            zorder=3,
            label="alert raised",
        )
    if threshold is not None:
        ax.axhline(threshold, ls="--", color="#c44e52", lw=1, label=f"threshold {threshold:g} °C")
    ax.set_xlabel("seconds since the first reading", fontsize=9)
    ax.set_ylabel("°C", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    ax.set_title(title or "sensor readings, and the alerts the rule raised", fontsize=10)
    figure.tight_layout()
    return figure
