"""Widgets: thin views over the labs. Every control calls a public method of the lab, the same
method the notebook calls in code, and then redraws from the lab's state."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

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
