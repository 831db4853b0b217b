"""Lesson 14's pictures: windows laid over a stream of events (tumbling or sliding), the counts
per window, and the live dashboard widget over `eda_lib.labs.DashboardLab`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import ipywidgets as w
from matplotlib.figure import Figure

from eda_lib.labs.dashboard import DashboardLab, WindowRow
from eda_lib.processing import Sliding, Tumbling
from eda_lib.viz.clicks import Clicks
from eda_lib.viz.lab import png
from eda_lib.viz.widgets import show

_PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#8172b2", "#937860")


def draw_windows(
    window: Tumbling | Sliding, moments: Sequence[datetime], *, title: str = ""
) -> Figure:
    """Events as dots on a time line, and below them every window that holds one of them: each
    event falls in one tumbling window, or in several overlapping sliding ones."""
    spans = sorted({span for moment in moments for span in window.windows(moment)})
    start = Tumbling(window.size).windows(min(moments))[0].start  # time 0: a round moment
    figure = Figure(figsize=(9.0, 1.2 + 0.32 * len(spans)), dpi=100)
    ax = figure.add_subplot()

    def seconds(moment: datetime) -> float:
        return (moment - start).total_seconds()

    ax.scatter([seconds(m) for m in moments], [0] * len(moments), color="black", zorder=3, s=22)
    for row, span in enumerate(spans, start=1):
        inside = sum(span.start <= m < span.end for m in moments)
        colour = _PALETTE[row % len(_PALETTE)]
        ax.barh(
            -row,
            seconds(span.end) - seconds(span.start),
            left=seconds(span.start),
            height=0.6,
            color=colour,
            alpha=0.35,
        )
        ax.text(
            seconds(span.start) + 0.3,
            -row,
            f"{inside} event{'s' * (inside != 1)}",
            va="center",
            fontsize=7.5,
        )
    ax.set_yticks([0], ["events"], fontsize=8)
    ax.set_xlabel("seconds of event time", fontsize=9)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    kind = "tumbling" if isinstance(window, Tumbling) else "sliding"
    ax.set_title(title or f"{kind} windows: one bar per window", fontsize=9)
    figure.tight_layout()
    return figure


def plot_window_counts(
    rows: Sequence[WindowRow], *, title: str = "", value: str = "count"
) -> Figure:
    """Per window, a bar per key (`value`: "count" or "total"); open windows, which may still
    change, are hatched and labelled."""
    windows = sorted({row.window for row in rows})
    keys = sorted({row.currency for row in rows})
    figure = Figure(figsize=(9.0, 3.4), dpi=100)
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(keys))
    for k, key in enumerate(keys):
        colour = _PALETTE[k % len(_PALETTE)]
        for x, window in enumerate(windows):
            found = next((r for r in rows if r.window == window and r.currency == key), None)
            if found is None:
                continue
            height = found.count if value == "count" else found.total / 100
            hatch = None if found.closed else "//"
            ax.bar(x + k * width, height, width, color=colour, hatch=hatch, edgecolor="white")
        ax.bar(0, 0, color=colour, label=key)  # one legend entry per key
    ax.legend(fontsize=8, loc="upper left")
    labels = [
        f"{wdw.start:%H:%M}"
        + ("" if any(r.closed for r in rows if r.window == wdw) else "\n(open)")
        for wdw in windows
    ]
    ax.set_xticks(
        [x + width * (len(keys) - 1) / 2 for x in range(len(windows))], labels, fontsize=8
    )
    ax.set_ylabel("payments" if value == "count" else "amount", fontsize=9)
    ax.set_xlabel("window start (hatched: still open)", fontsize=9)
    ax.set_title(title or "payments per currency per window", fontsize=10)
    figure.tight_layout()
    return figure


class DashboardWidget:
    """Buttons that publish payments (on time, or one late) and let the processor step; the
    chart shows the counts per window. Each button calls the lab's method of the same name."""

    def __init__(self, lab: DashboardLab) -> None:
        self.lab = lab
        self.publish = w.Button(description="publish 10 payments", icon="plus")
        self.late = w.Button(description="publish 1, 20 s late", icon="clock-o")
        self.process = w.Button(description="process", icon="play")
        self.status = w.Label(lab.summary())
        self.chart = w.Image(format="png")
        self.clicks = Clicks(self.redraw, self._show_error)
        self.pending = self.clicks.pending
        act = self.clicks.run
        self.publish.on_click(lambda _: act(self.lab.publish, 10))
        self.late.on_click(lambda _: act(self.lab.publish_late, 20))
        self.process.on_click(lambda _: act(self.lab.step))
        self.view = w.VBox(
            [w.HBox([self.publish, self.late, self.process]), self.status, self.chart]
        )
        self.redraw()

    def _show_error(self, text: str) -> None:
        self.status.value = text

    def redraw(self) -> None:
        self.status.value = self.lab.summary()
        rows = self.lab.rows()
        self.chart.value = png(plot_window_counts(rows)) if rows else b""

    def _ipython_display_(self) -> None:
        show(self.view)
