"""Widgets: thin views over the labs. Every control calls a public method of the lab, the same
method the notebook calls in code, and then redraws from the lab's state."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import ipywidgets as w
from IPython.display import display

from eda_lib.brokers.base import Broker
from eda_lib.cqrs.timetravel import Moment, TimeTravel
from eda_lib.explorer import explore, messages, messages_table
from eda_lib.labs import BacklogLab, FailureLab
from eda_lib.viz.clicks import Clicks
from eda_lib.viz.history import draw_moment
from eda_lib.viz.lab import LabPicture, plot_backlog, png


def show(view: w.Widget) -> None:
    """Display a widget in the notebook (what `_ipython_display_` of each widget here does)."""
    display(view)  # type: ignore[no-untyped-call]  # IPython's display has no annotations


class BacklogLabWidget:
    """Toggle the consumer, set the publish rate, and run ticks; the plot follows."""

    def __init__(self, lab: BacklogLab, ticks_per_click: int = 5) -> None:
        self.lab = lab
        self.ticks_per_click = ticks_per_click
        self.up = w.ToggleButton(
            value=lab.consumer.running or not lab.history,
            description="consumer up",
            icon="power-off",
        )
        self.rate = w.IntSlider(value=lab.rate, min=0, max=12, description="rate / tick")
        self.run = w.Button(description=f"run {ticks_per_click} ticks", icon="play")
        self.status = w.Label(lab.summary())
        # A PNG in an Image widget rather than an Output widget: the bytes are the state, so
        # a test (or a browser) can see the chart change, and nothing leaks into cell outputs.
        self.chart = w.Image(format="png")
        self.clicks = Clicks(self.redraw, self._show_error)
        self.pending = self.clicks.pending
        act = self.clicks.run
        self.up.observe(lambda change: act(self.lab.set_consumer, change["new"]), "value")
        self.rate.observe(lambda change: self.lab.set_rate(change["new"]), "value")
        self.run.on_click(lambda _: act(self.lab.tick, self.ticks_per_click))
        self.view = w.VBox([w.HBox([self.up, self.rate, self.run]), self.status, self.chart])
        self.redraw()

    def _show_error(self, text: str) -> None:
        self.status.value = text

    def redraw(self) -> None:
        self.status.value = self.lab.summary()
        self.chart.value = png(plot_backlog(self.lab)) if self.lab.history else b""

    def _ipython_display_(self) -> None:
        show(self.view)


class TopicExplorerWidget:
    """Pick a topic and a start offset; see its partitions, messages and consumer groups.
    The refresh button calls `eda_lib.explorer.explore` and `messages`, as the notebook does."""

    def __init__(self, broker: Broker, limit: int = 5) -> None:
        self.broker = broker
        self.topic = w.Dropdown(description="topic", options=[])
        self.start = w.BoundedIntText(value=0, min=0, max=10**9, description="from offset")
        self.limit = w.IntSlider(value=limit, min=1, max=50, description="per partition")
        self.refresh_button = w.Button(description="refresh", icon="refresh")
        self.output = w.HTML()
        self.pending: set[asyncio.Task[None]] = set()
        self.refresh_button.on_click(lambda _: self._act(self.refresh))
        self.view = w.VBox(
            [w.HBox([self.topic, self.start, self.limit, self.refresh_button]), self.output]
        )
        self._act(self.refresh)

    def _act(self, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(action())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def refresh(self) -> None:
        topics = sorted(await self.broker.topics())
        if list(self.topic.options) != topics:
            self.topic.options = topics
        text = await explore(self.broker)
        if self.topic.value:
            rows = await messages(
                self.broker, self.topic.value, start=self.start.value, limit=self.limit.value
            )
            text += f"\n\nMESSAGES IN {self.topic.value}\n" + messages_table(rows)
        self.output.value = f"<pre>{html.escape(text)}</pre>"

    def _ipython_display_(self) -> None:
        show(self.view)


class FailureLabWidget:
    """Every fault as a slider or toggle, the delivery semantics, each group's consumer up or
    down, and buttons to publish, step and run; counters and the picture follow each action.
    Each control calls one public method of `FailureLab`."""

    def __init__(self, lab: FailureLab) -> None:
        self.lab = lab
        percent = {"min": 0.0, "max": 1.0, "step": 0.05, "readout_format": ".0%"}
        self.drop = w.FloatSlider(value=lab.faults.drop, description="drop", **percent)
        self.duplicate = w.FloatSlider(
            value=lab.faults.duplicate, description="duplicate", **percent
        )
        self.crash = w.FloatSlider(value=lab.crash_chance, description="crash", **percent)
        self.slow = w.FloatSlider(
            value=lab.slowness, min=0.0, max=1.0, step=0.05, description="slow (s/event)"
        )
        self.reorder = w.Checkbox(value=lab.faults.reorder, description="reorder")
        self.outage = w.ToggleButton(
            value=lab.faults.outage, description="broker outage", icon="bolt"
        )
        self.poison = w.IntSlider(value=lab.poison_every, min=0, max=20, description="poison 1 in")
        self.semantics = w.Dropdown(
            options=["at-most-once", "at-least-once", "effect-once"],
            value=lab.semantics,
            description="semantics",
        )
        self.down = {
            g: w.ToggleButton(value=g in lab.down, description=f"{g} down", icon="power-off")
            for g in lab.groups
        }
        self.publish = w.Button(description="publish 10", icon="paper-plane")
        self.step = w.Button(description="step", icon="step-forward")
        self.run = w.Button(description="run 10 steps", icon="play")
        self.counters = w.HTML()
        self.picture = w.Image(format="png")
        self._drawing = LabPicture.of(lab)
        self.pending: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

        def fault(name: str) -> Callable[[dict[str, Any]], None]:
            return lambda change: self._act(self._sync(lab.set_fault, name, change["new"]))

        self.drop.observe(fault("drop"), "value")
        self.duplicate.observe(fault("duplicate"), "value")
        self.reorder.observe(fault("reorder"), "value")
        self.outage.observe(fault("outage"), "value")
        self.crash.observe(lambda c: self._act(self._sync(lab.set_crash_chance, c["new"])), "value")
        self.slow.observe(lambda c: self._act(self._sync(lab.set_slow, c["new"])), "value")
        self.poison.observe(
            lambda c: self._act(self._sync(lab.set_poison_every, c["new"])), "value"
        )
        self.semantics.observe(lambda c: self._act(lab.set_semantics(c["new"])), "value")
        for group, toggle in self.down.items():
            toggle.observe(lambda c, g=group: self._act(lab.set_down(g, c["new"])), "value")
        self.publish.on_click(lambda _: self._act(lab.publish(10)))
        self.step.on_click(lambda _: self._act(lab.step(1)))
        self.run.on_click(lambda _: self._act(lab.step(10)))
        self.view = w.VBox(
            [
                w.HBox([self.drop, self.duplicate, self.crash]),
                w.HBox([self.reorder, self.outage, self.poison, self.slow]),
                w.HBox([self.semantics]),
                w.HBox(list(self.down.values())),
                w.HBox([self.publish, self.step, self.run]),
                self.counters,
                self.picture,
            ]
        )
        self._act(self._sync(lambda: None))

    @staticmethod
    async def _sync(action: Callable[..., Any], *args: Any) -> None:
        action(*args)

    def _act(self, step: Awaitable[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._then_redraw(step))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _then_redraw(self, step: Awaitable[Any]) -> None:
        async with self._lock:  # one action at a time: a lab's consumers run one run at once
            try:
                await step
            except Exception as error:  # show it: a task's exception would be lost
                self.counters.value = (
                    f"<b>error</b>: {html.escape(f'{type(error).__name__}: {error}')}"
                )
                return
            await self.redraw()

    async def redraw(self) -> None:
        counters = await self.lab.counters()
        cells = "".join(
            f"<td style='padding:2px 10px'><b>{value}</b><br>{name.replace('_', ' ')}</td>"
            for name, value in vars(counters).items()
        )
        await self._drawing.draw(self.lab)
        # Picture first: whoever sees the new counters sees the picture of the same moment.
        self.picture.value = self._drawing.png()
        self.counters.value = f"<table><tr>{cells}</tr></table>"

    def _ipython_display_(self) -> None:
        show(self.view)


class TimeTravelWidget:
    """A slider over the store's global positions: the picture shows the log, the aggregates
    and the read model as they were at that position. Each move calls `TimeTravel.at`, as the
    notebook does in code."""

    def __init__(self, travel: TimeTravel[Any, Any], position: int | None = None) -> None:
        self.travel = travel
        last = travel.last_position()
        self.slider = w.IntSlider(
            value=last if position is None else position,
            min=0,
            max=last,
            description="position",
            continuous_update=False,  # redraw when the handle is let go, not at every pixel
        )
        self.picture = w.Image(format="png")
        self.slider.observe(lambda change: self.show_position(change["new"]), "value")
        self.view = w.VBox([self.slider, self.picture])
        self.moment = self.show_position(self.slider.value)

    def show_position(self, position: int) -> Moment[Any, Any]:
        self.moment = self.travel.at(position)
        self.picture.value = png(draw_moment(self.moment, self.travel.store.read_all()))
        return self.moment

    def _ipython_display_(self) -> None:
        show(self.view)
