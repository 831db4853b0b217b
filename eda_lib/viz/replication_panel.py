"""The broker panel of lesson 16: the cluster as a picture, a kill and a restart button per node,
and buttons that send payments and read them back, with counters. Each button calls one method
of `BrokerPanel`, which the notebook also calls in code; each method calls the `ReplicationLab`."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Coroutine
from typing import Any

import ipywidgets as w
from matplotlib.figure import Figure

from eda_lib.kafka_local.quorum import describe_quorum_async
from eda_lib.labs.replication import ClusterStateError, ReplicationLab
from eda_lib.viz.lab import png
from eda_lib.viz.replication import draw_cluster
from eda_lib.viz.widgets import show

ACTION_TIMEOUT_S = 90.0  # a restart on a busy machine takes up to about 20 s


class BrokerPanel:
    """Kill or restart a node, send payments, read them back; the picture and the counters
    follow each action. A click that is still running greys the buttons out."""

    def __init__(self, lab: ReplicationLab, *, batch: int = 30) -> None:
        self.lab = lab
        self.batch = batch
        self.controller: int | None = None
        self.last = ""
        self.picture = w.Image(format="png")
        self.counters = w.HTML()
        self.buttons: list[w.Button] = []
        rows = []
        for node in lab.cluster.node_ids:
            kill = w.Button(description=f"kill node {node}", icon="skull", button_style="danger")
            back = w.Button(description=f"restart node {node}", icon="play")
            kill.on_click(lambda _, n=node: self._act(lambda: self.kill(n)))
            back.on_click(lambda _, n=node: self._act(lambda: self.restart(n)))
            self.buttons += [kill, back]
            rows.append(w.HBox([kill, back]))
        send = w.Button(description=f"send {batch} payments", icon="paper-plane")
        read = w.Button(description="read them", icon="book")
        send.on_click(lambda _: self._act(self.send))
        read.on_click(lambda _: self._act(self.read))
        self.buttons += [send, read]
        self.pending: set[asyncio.Task[None]] = set()
        controls = w.HBox([w.VBox(rows), w.VBox([send, read])])
        self.view = w.VBox([controls, self.counters, self.picture])

    def _act(self, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def guarded() -> None:
            for button in self.buttons:
                button.disabled = True
            try:
                await asyncio.wait_for(action(), ACTION_TIMEOUT_S)
            except TimeoutError:
                self.last = f"no answer within {ACTION_TIMEOUT_S:.0f} s: are most nodes up?"
                self._show_counters()
            except Exception as error:  # shown in the panel: a click has nowhere else to say it
                self.last = f"{type(error).__name__}: {error}"
                self._show_counters()
            finally:
                for button in self.buttons:
                    button.disabled = False

        task = asyncio.get_running_loop().create_task(guarded())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def kill(self, node: int) -> None:
        await self.lab.kill(node)
        self.last = f"killed node {node} (SIGKILL)"
        await self.refresh()

    async def restart(self, node: int) -> None:
        took = await self.lab.restart(node)
        self.last = f"node {node} back in {took:.1f} s"
        await self.refresh()

    async def send(self) -> None:
        """`batch` payments with acks=all; returns once all are acknowledged (during a failover,
        once the new leader has them)."""
        up, needed = self.lab.cluster.up(), self.lab.cluster.majority
        if len(up) < needed:
            raise ClusterStateError(
                f"only node(s) {up} up: no controller quorum, so no new leader can be elected "
                f"and the sends would wait for ever. Restart nodes until {needed} are up"
            )
        await self.lab.write(self.batch)
        self.last = f"sent {self.batch} payments, all acknowledged"
        await self.refresh()

    async def read(self) -> None:
        already = len(self.lab.consumed)
        await self.lab.consume(timeout=15.0)
        acknowledged = {(c, s) for c, s, _, _ in self.lab.written.acknowledged}
        new = self.lab.consumed[already:]
        never = sum(1 for record in new if record not in acknowledged)
        self.last = f"the receipts group read {len(new)} records: {len(new) - never} acknowledged"
        if never:  # such as a probe that timed out, yet landed (lesson 16, section 4)
            self.last += f", {never} never acknowledged (a send that timed out, yet landed)"
        await self.refresh()

    async def refresh(self) -> Figure:
        """Ask the cluster where each copy is and who the controller is; redraw."""
        try:
            self.controller = (await describe_quorum_async(self.lab.cluster.bootstrap)).leader
        except Exception:  # most voters down: no controller to name
            self.controller = None
        figure = draw_cluster(
            await self.lab.partitions(),
            self.lab.cluster.node_ids,
            up=self.lab.cluster.up(),
            controller=self.controller,
            title="{}: {} acknowledged, {} of them read".format(self.lab.topic, *self.counts()),
        )
        self.picture.value = png(figure)
        self._show_counters()
        return figure

    async def snapshot(self) -> Figure:
        """The panel without a running kernel: the cluster as `refresh` draws it, with the
        counters and the last action's outcome written under it."""
        sent, read, extra = self.counts()
        up = ", ".join(map(str, self.lab.cluster.up())) or "none"
        counters = f"acknowledged {sent}   read {read} of them" + (
            f" (and {extra} never acknowledged)" if extra else ""
        )
        return draw_cluster(
            await self.lab.partitions(),
            self.lab.cluster.node_ids,
            up=self.lab.cluster.up(),
            controller=self.controller,
            title=f"the broker panel: {self.lab.topic}",
            note=[f"{counters}   nodes up {up}", f"last action: {self.last or 'none yet'}"],
        )

    def _show_counters(self) -> None:
        sent, read, extra = self.counts()
        self.counters.value = (
            f"<b>acknowledged</b> {sent} &nbsp; <b>read</b> {read} of them"
            + (f" (and {extra} never acknowledged)" if extra else "")
            + " &nbsp; "
            f"<b>nodes up</b> {', '.join(map(str, self.lab.cluster.up())) or 'none'}"
            f"<br>{html.escape(self.last)}"
        )

    def counts(self) -> tuple[int, int, int]:
        """Payments acknowledged; how many of them the group read; and how many records it read
        that were never acknowledged (a probe that timed out, yet landed)."""
        acknowledged = {(c, s) for c, s, _, _ in self.lab.written.acknowledged}
        read = set(self.lab.consumed)
        return len(acknowledged), len(read & acknowledged), len(read - acknowledged)

    def _ipython_display_(self) -> None:
        show(self.view)
