"""Lesson 04's pictures of `eda_lib.simulate`: the two designs' response times and success
rates side by side, the receipts' delay over the run (the price of the event-driven design),
and a widget that re-runs the simulation as its sliders move."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eda_lib.simulate import DOWNSTREAM, SERVICES, Comparison, Scenario, Window, simulate
from eda_lib.viz.lab import png
from eda_lib.viz.widgets import show

DESIGNS = {"rest": ("REST call chain", "#dd8452"), "events": ("event-driven", "#4c72b0")}
_DOWN = "#bbbbbb"


def describe(scenario: Scenario) -> str:
    """What sets this scenario apart from the defaults, in a few words for a title."""
    default, changes = Scenario(), []
    for name in SERVICES:
        spec, usual = scenario.service(name), default.service(name)
        if spec.latency_ms != usual.latency_ms:
            changes.append(f"{name} median {spec.latency_ms:g} ms")
        if spec.failure_rate != usual.failure_rate:
            changes.append(f"{name} fails {spec.failure_rate:.0%}")
        changes += [f"{name} down {a / 1000:g}-{b / 1000:g} s" for a, b in spec.down]
    return "; ".join(changes) or "default services"


def plot_comparison(comparison: Comparison, title: str | None = None) -> Figure:
    """Per design, the p50/p95/p99 response time of all checkouts (failed ones included) and
    the share of checkouts that succeeded."""
    figure = Figure(figsize=(9.5, 3.5), dpi=100)
    latency, success = figure.subplots(1, 2, gridspec_kw={"width_ratios": (2.2, 1)})
    results = {"rest": comparison.rest, "events": comparison.events}
    width = 0.38
    for n, (design, result) in enumerate(results.items()):
        label, colour = DESIGNS[design]
        values = result.latency_percentiles()
        xs = [i + (n - 0.5) * width for i in range(len(values))]
        bars = latency.bar(xs, list(values.values()), width, color=colour, label=label)
        latency.bar_label(bars, fmt="%.0f", fontsize=8)
        rate = success.bar(n, 100 * result.success_rate, 0.6, color=colour)
        success.bar_label(rate, fmt="%.1f%%", fontsize=9)
    latency.set_xticks(range(3), ["p50", "p95", "p99"])
    latency.set_ylabel("ms")
    latency.margins(y=0.15)
    latency.set_title("checkout response time (all checkouts)", fontsize=10)
    latency.legend(fontsize=8, loc="upper left")
    success.set_xticks([0, 1], [DESIGNS[d][0] for d in results], fontsize=8)
    success.set_ylim(0, 112)
    success.set_ylabel("%")
    success.set_title("checkouts that succeeded", fontsize=10)
    for ax in (latency, success):
        ax.grid(axis="y", alpha=0.2)
        ax.set_axisbelow(True)
    scenario = comparison.scenario
    figure.suptitle(title or f"{scenario.checkouts:,} checkouts; {describe(scenario)}", fontsize=10)
    figure.tight_layout()
    return figure


def plot_receipts(comparison: Comparison) -> Figure:
    """Above: for each successful event-driven checkout, when it was placed and how long its
    receipt took, with email's down windows shaded. Below: the REST checkouts that failed."""
    figure = Figure(figsize=(9.5, 4.2), dpi=100)
    receipts, failures = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (4, 1)})
    sent = [
        (r.placed_at / 1000, wait / 1000)
        for r in comparison.events.records
        if r.ok and (wait := r.time_to_receipt_ms) is not None
    ]
    receipts.scatter(
        [placed for placed, _ in sent],
        [wait for _, wait in sent],
        s=5,
        color=DESIGNS["events"][1],
        alpha=0.6,
        lw=0,
        label="a checkout's receipt",
    )
    failed = [r.placed_at / 1000 for r in comparison.rest.records if not r.ok]
    failures.scatter(failed, [0] * len(failed), marker="|", s=90, color="#c44e52", lw=0.8)
    for k, (start, end) in enumerate(comparison.scenario.email.down):
        shade = {"color": _DOWN, "alpha": 0.5, "lw": 0}
        receipts.axvspan(start / 1000, end / 1000, label=None if k else "email down", **shade)
        failures.axvspan(start / 1000, end / 1000, **shade)
    pending = comparison.events.pending_receipts
    waiting = f"; {pending} receipts still pending at the end" if pending else ""
    receipts.set_title(
        f"event-driven: time until each receipt was sent{waiting}", fontsize=10, loc="left"
    )
    receipts.set_ylabel("receipt after (s)")
    receipts.set_ylim(bottom=0)
    receipts.legend(fontsize=8, loc="upper right", markerscale=3)
    receipts.grid(alpha=0.2)
    failures.set_title(
        f"REST: the {len(failed)} checkouts that failed (one mark each)", fontsize=10, loc="left"
    )
    failures.set_yticks([])
    failures.set_xlabel("checkout placed at (s)")
    failures.set_xlim(0, max((r.placed_at for r in comparison.rest.records), default=0) / 1000)
    figure.tight_layout()
    return figure


def _box(ax: Any, x: float, y: float, text: str, colour: str) -> None:
    style = {"boxstyle": "round,pad=0.45", "fc": colour, "ec": "none"}
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5, color="white", bbox=style)


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], **style: Any) -> None:
    props = {"arrowstyle": "-|>", "color": "#555555", "lw": 1.1, "shrinkA": 30, "shrinkB": 30}
    ax.annotate("", xy=end, xytext=start, arrowprops={**props, **style})


def draw_designs() -> Figure:
    """The checkout built twice: on the left it calls each service in turn and waits for each
    answer; on the right it calls payment only, then publishes one event that three consumers
    read in their own time."""
    figure = Figure(figsize=(9.5, 3.4), dpi=100)
    rest, events = figure.subplots(1, 2)
    service, customer, broker = "#5f6b73", "#4c72b0", "#dd8452"
    rows = {name: 1.5 - n for n, name in enumerate(SERVICES)}
    _box(rest, 0, 0, "checkout", customer)
    for n, name in enumerate(SERVICES):
        _box(rest, 2, rows[name], f"{n + 1}. {name}", service)
        _arrow(rest, (0, 0.05), (2, rows[name] + 0.05))
    rest.set_title("REST: calls each service in turn, waiting for each answer", fontsize=9)
    _box(events, 0, 0, "checkout", customer)
    _box(events, 2, rows["payment"], "1. payment", service)
    _arrow(events, (0, 0), (2, rows["payment"]))
    _box(events, 1.0, -1.3, "2. publish\nPaymentSuccessful", broker)
    _arrow(events, (0, 0), (1.0, -1.3))
    for name in DOWNSTREAM:
        _box(events, 2.6, rows[name], name, service)
        _arrow(events, (1.0, -1.3), (2.6, rows[name]), linestyle="dashed", shrinkA=50)
    events.set_title("events: waits for payment only; the rest read the event later", fontsize=9)
    for ax in (rest, events):
        ax.set_xlim(-0.6, 3.1)
        ax.set_ylim(-1.9, 2.0)
        ax.axis("off")
    figure.tight_layout()
    return figure


class SimulationWidget:
    """A slider for each service's median latency and failure rate, and an email outage. Each
    change calls `set_service`, as the notebook does in code: it replaces the service in the
    scenario (`Scenario.with_service`), runs `simulate` and redraws `plot_comparison`."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self._quiet = False  # set while the controls are moved to match the scenario
        slider = {"continuous_update": False, "style": {"description_width": "110px"}}
        self.latency = {
            name: w.FloatLogSlider(
                min=0, max=3.5, step=0.05, readout_format=".0f", description=f"{name} ms", **slider
            )
            for name in SERVICES
        }
        self.failure = {
            name: w.FloatSlider(
                min=0, max=0.5, step=0.01, readout_format=".0%", description="fails", **slider
            )
            for name in SERVICES
        }
        seconds = self.scenario.checkouts * self.scenario.mean_gap_ms / 1000
        self.email_down = w.Checkbox(description="email down")
        self.window = w.FloatRangeSlider(
            value=(0.3 * round(seconds), 0.6 * round(seconds)),
            min=0,
            max=round(seconds),
            step=1,
            description="from/to (s)",
            **slider,
        )
        self.chart = w.Image(format="png")  # PNG bytes are the state: tests can read them
        self._match_controls()
        for name in SERVICES:
            self._follow(name)
        for control in (self.email_down, self.window):
            control.observe(self._observer(self._outage_moved), "value")
        rows = [w.HBox([self.latency[n], self.failure[n]]) for n in SERVICES]
        self.view = w.VBox([*rows, w.HBox([self.email_down, self.window]), self.chart])
        self.comparison = self._run()

    def set_service(
        self,
        name: str,
        *,
        latency_ms: float | None = None,
        failure_rate: float | None = None,
        down: Sequence[Window] | None = None,
    ) -> Comparison:
        """Change one service (what a slider does), re-run the simulation and redraw."""
        scenario = self.scenario.with_service(
            name, latency_ms=latency_ms, failure_rate=failure_rate, down=down
        )
        if scenario == self.scenario:  # the same seed and scenario give the same run
            return self.comparison
        self.scenario = scenario
        self._match_controls()
        return self._run()

    def set_email_down(self, window_s: tuple[float, float] | None) -> Comparison:
        """Email down from `window_s[0]` to `window_s[1]` seconds, or never (None)."""
        down = () if window_s is None else ((window_s[0] * 1000, window_s[1] * 1000),)
        return self.set_service("email", down=down)

    def _follow(self, name: str) -> None:
        latency = self._observer(lambda value: self.set_service(name, latency_ms=value))
        failure = self._observer(lambda value: self.set_service(name, failure_rate=value))
        self.latency[name].observe(latency, "value")
        self.failure[name].observe(failure, "value")

    def _observer(self, action: Callable[[Any], object]) -> Callable[[dict[str, Any]], None]:
        """A control's observer: `action` on the new value, unless the change came from code
        (from `_match_controls`, whose caller runs the simulation itself)."""

        def observe(change: dict[str, Any]) -> None:
            if not self._quiet:
                action(change["new"])

        return observe

    def _outage_moved(self, _: object) -> None:
        self.set_email_down(self.window.value if self.email_down.value else None)

    def _match_controls(self) -> None:
        self._quiet = True
        try:
            for name in SERVICES:
                spec = self.scenario.service(name)
                self.latency[name].value = spec.latency_ms
                self.failure[name].value = spec.failure_rate
            windows = self.scenario.email.down
            self.email_down.value = bool(windows)
            if windows:  # else the range stays where it was, ready for the box to be ticked
                end = self.window.max
                start, stop = (min(t / 1000, end) for t in windows[0])
                self.window.value = (start, stop)
        finally:
            self._quiet = False

    def _run(self) -> Comparison:
        self.comparison = simulate(self.scenario)
        self.chart.value = png(plot_comparison(self.comparison))
        return self.comparison

    def _ipython_display_(self) -> None:
        show(self.view)
