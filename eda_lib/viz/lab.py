"""The labs' pictures. Lesson 02: the backlog lab's lag over time. Lesson 12: the failure lab,
who sends to which topic, which groups read it and how far behind they are, next to the lag
over time. The failure lab's figure and artists are made once; each redraw only changes texts,
colours and the line, so a click redraws in well under 0.1 s."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from eda_lib.brokers.base import BrokerState
from eda_lib.labs import BacklogLab, FailureLab, LabCounters, ScalingRun
from eda_lib.viz.graphs import COLOURS, box_edge

_BOX = (0.86, 0.38)  # width, height of a node, in data units


class LabPicture:
    """Producer -> topics -> groups (with lag, greyed when down) -> the dead letters they parked,
    and the total lag per step. Every group reads every topic, so the topics meet on one line
    (a bus) and one arrow goes from it to each group: twelve crossing edges would say no more."""

    dead_letters = "dead letters"
    bus = "every topic"

    def __init__(self, producer: str, topics: tuple[str, ...], groups: tuple[str, ...]) -> None:
        self.producer, self.topics, self.groups = producer, topics, groups
        self.figure = Figure(figsize=(10, 3.8), dpi=100)
        graph = self.figure.add_axes((0.0, 0.0, 0.68, 0.88))
        graph.axis("off")
        rows = max(len(topics), len(groups))
        graph.set_xlim(-0.5, 4.3)
        graph.set_ylim(-((rows - 1) / 2 + 0.45), (rows - 1) / 2 + 0.45)

        def column(count: int) -> list[float]:
            step = (rows - 1) / (count - 1) if count > 1 else 0.0
            return [(rows - 1) / 2 - i * step for i in range(count)] if count > 1 else [0.0]

        places = {producer: (0.0, 0.0)}
        places.update({t: (1.15, y) for t, y in zip(topics, column(len(topics)), strict=True)})
        places.update({g: (2.65, y) for g, y in zip(groups, column(len(groups)), strict=True)})
        places[self.dead_letters] = (3.85, 0.0)
        self._boxes: dict[str, Patch] = {}
        self._labels: dict[str, Text] = {}
        w, h = _BOX
        for name, (x, y) in places.items():
            self._boxes[name] = graph.add_patch(
                FancyBboxPatch(
                    (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", ec="none", zorder=3
                )
            )
            self._labels[name] = graph.text(
                x,
                y,
                name,
                ha="center",
                va="center",
                fontsize=8.5,
                color="white",
                fontweight="bold",
                zorder=4,
            )
        self._boxes[producer].set_facecolor(COLOURS["producer"])
        for topic in topics:
            self._boxes[topic].set_facecolor(COLOURS["partition"])
        self._boxes[self.dead_letters].set_facecolor(COLOURS["dead-letter"])
        half = (w / 2 + 0.02, h / 2 + 0.02)
        bus_x = 1.9
        ys = [places[name][1] for name in (*topics, *groups)]
        graph.plot([bus_x, bus_x], [min(ys), max(ys)], color="#888888", lw=2.0, zorder=2)
        graph.text(bus_x, max(ys) + 0.3, self.bus, ha="center", fontsize=8, color="#555555")
        self._pairs = (
            [(producer, t) for t in topics]
            + [(t, self.bus) for t in topics]
            + [(self.bus, g) for g in groups]
            + [(g, self.dead_letters) for g in groups]
        )
        ends = []
        for a, b in self._pairs:
            if a == self.bus:  # level from the bus into the group's box
                end = box_edge(places[b], (bus_x, places[b][1]), half)
                ends.append(((bus_x, places[b][1]), end))
            elif b == self.bus:
                start = box_edge(places[a], (bus_x, places[a][1]), half)
                ends.append((start, (bus_x, places[a][1])))
            else:
                ends.append(
                    (box_edge(places[a], places[b], half), box_edge(places[b], places[a], half))
                )
        self._colours = ["#c44e52" if b == self.dead_letters else "#555555" for _, b in self._pairs]
        self._arrows = LineCollection(ends, colors=self._colours, linewidths=1.1, zorder=2)
        graph.add_collection(self._arrows)
        heads = [end for (a, b), (_, end) in zip(self._pairs, ends, strict=True) if b != self.bus]
        graph.scatter(
            [x for x, _ in heads],
            [y for _, y in heads],
            marker=">",
            s=24,
            color="#555555",
            zorder=2,
        )
        # The suptitle, so that it is the figure's title (the alt text a notebook saves with it).
        self._title = self.figure.suptitle("", x=0.34, y=0.94, ha="center", fontsize=10)
        self.figure.text(
            0.85, 0.88, "total lag per step (simulated seconds)", ha="center", fontsize=9
        )
        self.chart = self.figure.add_axes((0.73, 0.15, 0.25, 0.68))
        (self._line,) = self.chart.plot([], [], color="#c44e52", lw=1.8)
        for axis in (self.chart.xaxis, self.chart.yaxis):
            axis.set_major_locator(MaxNLocator(4, integer=True))
        self.chart.tick_params(labelsize=8.5)
        self.chart.grid(alpha=0.25)

    def update(
        self, state: BrokerState, down: set[str], history: list[tuple[int, int]], title: str
    ) -> Figure:
        lags = {g.group: g.total_lag for g in state.groups}
        for topic in self.topics:
            size = sum(p.size for p in state.topic(topic))
            self._labels[topic].set_text(f"{topic}\n{size} events")
        for group in self.groups:
            gone = group in down
            self._boxes[group].set_facecolor(COLOURS["group-down" if gone else "member"])
            self._labels[group].set_text(
                f"{group}{' (down)' if gone else ''}\nlag {lags.get(group, 0)}"
            )
        parked = sum(p.size for p in state.partitions if p.topic.endswith(".dead-letter"))
        self._labels[self.dead_letters].set_text(f"{self.dead_letters}\n{parked} records")
        self._arrows.set_linestyle(
            [
                "dotted" if b == self.dead_letters else "dashed" if b in down else "solid"
                for _, b in self._pairs
            ]
        )
        self._title.set_text(title)
        steps = [s for s, _ in history] or [0]
        values = [lag for _, lag in history] or [0]
        self._line.set_data(steps, values)
        self.chart.set_xlim(min(steps) - 0.5, max(steps) + 0.5)
        self.chart.set_ylim(0, max(values) * 1.1 + 1)
        return self.figure

    async def draw(self, lab: FailureLab) -> Figure:
        """This picture, updated to the lab's state now."""
        title = f"{lab.semantics}; faults: {lab.fault_summary()}"
        return self.update(await lab.state(), lab.down, lab.history, title)

    @classmethod
    def of(cls, lab: FailureLab) -> LabPicture:
        return cls(lab.producer.name, lab.topics, lab.groups)

    def png(self) -> bytes:
        return png(self.figure)


async def draw_lab(lab: FailureLab) -> Figure:
    """The failure lab as a picture: topics, groups and their lag, and the lag over time."""
    return await LabPicture.of(lab).draw(lab)


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def plot_backlog(lab: BacklogLab) -> Figure:
    """The backlog lab's lag per tick, with the ticks the consumer was down shaded."""
    figure = Figure(figsize=(8, 3.2), dpi=100)
    ax = figure.add_subplot()
    history = lab.history
    ticks = [s.tick for s in history]
    ax.plot(ticks, [s.lag for s in history], color="#c44e52", lw=2, label="lag")
    ax.plot(
        ticks,
        [s.published for s in history],
        color="#4c72b0",
        lw=1,
        ls="--",
        label="published (total)",
    )
    ax.plot(ticks, [s.handled for s in history], color="#55a868", lw=1, label="shipped (total)")
    for s in history:  # tick t is the second from t - 1 to t, and its sample is taken at its end
        if not s.consumer_up:
            ax.axvspan(s.tick - 1, s.tick, color="#cccccc", alpha=0.5, lw=0)
    ax.set_xlabel("tick (simulated seconds)")
    ax.set_ylabel("events")
    rates = sorted({s.rate for s in history})
    rate = "/".join(map(str, rates)) if rates else str(lab.rate)
    ax.set_title(
        f"rate {rate} per tick, capacity {lab.capacity} per tick; grey = consumer down",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.2)
    figure.tight_layout()
    return figure


def plot_scaling(runs: Sequence[ScalingRun]) -> Figure:
    """Throughput of a group against its number of members, with the ideal straight line: it
    rises while there are partitions to give out, and flattens where they end."""
    figure = Figure(figsize=(7, 3.2), dpi=100)
    ax = figure.add_subplot()
    members = [r.members for r in runs]
    rates = [r.events_per_second for r in runs]
    one = rates[0] / runs[0].members
    ax.plot(
        members,
        [one * m for m in members],
        ls="--",
        color="#999999",
        label="ideal: every member busy",
    )
    ax.plot(members, rates, marker="o", color="#4c72b0", lw=2, label="measured")
    for run, rate in zip(runs, rates, strict=True):
        if run.idle:
            ax.annotate(
                f"{run.idle} idle",
                (run.members, rate),
                textcoords="offset points",
                xytext=(0, -14),
                ha="center",
                fontsize=8,
                color="#c44e52",
            )
    partitions = runs[0].partitions
    ax.axvline(partitions, color="#dd8452", lw=1, ls=":")
    ax.text(partitions, 1, f" {partitions} partitions", color="#dd8452", fontsize=8)
    ax.set_ylim(bottom=0)  # from zero, so that the gains are not drawn larger than they are
    ax.set_xlabel("members in the group")
    ax.set_ylabel("events per second")
    ax.set_title(
        f"{sum(runs[0].handled_by.values())} events, {runs[0].seconds_per_event:g} s each: "
        "throughput stops growing where the partitions end",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.2)
    figure.tight_layout()
    return figure


def plot_semantics(results: Mapping[str, LabCounters]) -> Figure:
    """Per delivery semantics, how many events were lost, applied twice, or dead-lettered, on
    the same faults: the failure lab's scenario, one group of bars per semantics."""
    figure = Figure(figsize=(7.5, 3.2), dpi=100)
    ax = figure.add_subplot()
    measures = (
        ("lost", "#c44e52"),
        ("duplicate_effects", "#dd8452"),
        ("dead_lettered", "#8172b2"),
    )
    names = list(results)
    width = 0.8 / len(measures)
    for n, (measure, colour) in enumerate(measures):
        values = [getattr(results[name], measure) for name in names]
        xs = [i + (n - 1) * width for i in range(len(names))]
        bars = ax.bar(xs, values, width, color=colour, label=measure.replace("_", " "))
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("events")
    ax.set_title("the same faults under each semantics", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.2)
    figure.tight_layout()
    return figure
