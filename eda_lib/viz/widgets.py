"""Widgets: thin views over the labs. Every control calls a public method of the lab, the same
method the notebook calls in code, and then redraws from the lab's state."""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Awaitable, Callable
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eda_lib.brokers.base import Broker
from eda_lib.explorer import explore, messages, messages_table
from eda_lib.labs import BacklogLab


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


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
        self.pending: set[asyncio.Task[None]] = set()  # in flight; tests await these
        self.up.observe(lambda change: self._act(self.lab.set_consumer, change["new"]), "value")
        self.rate.observe(lambda change: self.lab.set_rate(change["new"]), "value")
        self.run.on_click(lambda _: self._act(self.lab.tick, self.ticks_per_click))
        self.view = w.VBox([w.HBox([self.up, self.rate, self.run]), self.status, self.chart])
        self.redraw()

    def _act(self, action: Callable[..., Awaitable[Any]], *args: Any) -> None:
        # Widget callbacks are plain functions; the kernel's event loop runs the lab's coroutine.
        task = asyncio.get_running_loop().create_task(self._then_redraw(action(*args)))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _then_redraw(self, step: Awaitable[Any]) -> None:
        await step
        self.redraw()

    def redraw(self) -> None:
        self.status.value = self.lab.summary()
        self.chart.value = png(self.lab.plot()) if self.lab.history else b""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)


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

    def _act(self, action: Callable[[], Awaitable[None]]) -> None:
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
        from IPython.display import display

        display(self.view)
