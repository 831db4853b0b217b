"""Pictures of event-sourced history (lessons 05, 09 and 10): the store's log as a strip of
events per stream, a moment of time travel (the log up to a position, the aggregates and the
read model then), the read model's lag behind the store, and where the keying pitfall puts each
order's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from eda_lib.cqrs.timetravel import Moment
from eda_lib.labs.consistency import ConsistencyRun
from eda_lib.labs.keying import KeyingTrial
from eda_lib.store.base import StoredEvent

_PALETTE = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#dd8452", "#937860", "#da8bc3")
_PARTITIONS = ("#5f6b73", "#2a9d8f", "#264653", "#8d99ae")  # not the event types' colours


def _colours(history: Sequence[StoredEvent]) -> dict[str, str]:
    types = list(dict.fromkeys(s.event.event_type for s in history))
    return {t: _PALETTE[i % len(_PALETTE)] for i, t in enumerate(types)}


def _strip(
    ax: Axes, history: Sequence[StoredEvent], upto: int | None = None, legend_above: bool = False
) -> None:
    streams = list(dict.fromkeys(s.stream_id for s in history))
    rows = {stream: i for i, stream in enumerate(reversed(streams))}
    colours = _colours(history)
    for stored in history:
        future = upto is not None and stored.position > upto
        ax.scatter(
            stored.position,
            rows[stored.stream_id],
            s=320,  # big enough to hold its version label at a readable size
            color="#dddddd" if future else colours[stored.event.event_type],
            edgecolor="#999999" if future else "black",
            lw=0.6,
            zorder=3,
        )
        ax.annotate(
            f"v{stored.version}",
            (stored.position, rows[stored.stream_id]),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color="#888888" if future else "white",
            zorder=4,
        )
    ax.set_yticks(range(len(streams)), list(reversed(streams)), fontsize=8)
    ax.set_xlim(0.3, max((s.position for s in history), default=1) + 0.7)
    ax.set_ylim(-0.7, len(streams) - 0.3)
    ax.set_xlabel("global position", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.2)
    for event_type, colour in colours.items():
        ax.scatter([], [], s=60, color=colour, edgecolor="black", lw=0.6, label=event_type)
    ax.legend(  # below the strip; or right above it, under the title
        fontsize=8,
        loc="lower left" if legend_above else "upper center",
        bbox_to_anchor=(0.0, 0.98) if legend_above else (0.5, 0.0),
        # below: 26 points (26/72 inch) under the axes, clear of its label at any strip height
        bbox_transform=ax.transAxes
        if legend_above
        else ax.transAxes + ScaledTranslation(0, -26 / 72, ax.figure.dpi_scale_trans),
        ncol=max(len(colours), 1),
        frameon=False,
    )


def draw_log(history: Sequence[StoredEvent], *, title: str = "") -> Figure:
    """The store's log: one row per stream, one dot per event at its global position, labelled
    with its version in the stream."""
    streams = len({s.stream_id for s in history})
    figure = Figure(figsize=(9, 1.5 + 0.5 * max(streams, 1)), dpi=100)
    ax = figure.add_subplot()
    _strip(ax, history)
    ax.set_title(title or f"{len(history)} events in {streams} streams", fontsize=10)
    figure.tight_layout()
    return figure


_TABLE_FONT = 10  # points: readable at the notebook's width
_ROW_INCHES = _TABLE_FONT / 72 * 1.2 * 1.4  # matplotlib's row height for that font, scaled 1.4


def _table(ax: Axes, rows: list[dict[str, Any]], title: str) -> None:
    ax.axis("off")
    ax.set_title(title, fontsize=9, loc="left")
    if not rows:
        ax.text(0.0, 0.5, "(nothing yet)", fontsize=9, color="#777777", transform=ax.transAxes)
        return
    columns = list(rows[0])
    cells = [[str(row[c]) for c in columns] for row in rows]
    table = ax.table(cellText=cells, colLabels=columns, loc="upper left", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(_TABLE_FONT)
    table.auto_set_column_width(list(range(len(columns))))
    table.scale(1.0, 1.4)


def draw_moment(moment: Moment[Any, Any], history: Sequence[StoredEvent]) -> Figure:
    """Time travel: the log with everything after `moment.position` greyed out, and below it
    the aggregates and the read model as they were at that position."""
    streams = len({s.stream_id for s in history})
    aggregates = [
        {"id": a.id, "version": a.version, **a.state()}
        for _, a in sorted(moment.aggregates.items())
    ]
    view = moment.read_model
    rows = view.table()
    # Laid out in inches, top to bottom, so each table's axes is as tall as the table itself
    # and the gaps are only what the titles and the strip's axis label need.
    parts = [  # (space above it, its height)
        (0.7, 0.5 + 0.42 * streams),  # the strip, under its title and legend
        (0.85, _ROW_INCHES * (len(aggregates) + 1)),  # the strip's axis, then a title
        (0.45, _ROW_INCHES * (len(rows) + 1)),
    ]
    height = sum(gap + size for gap, size in parts) + 0.1
    figure = Figure(figsize=(9, height), dpi=100)
    axes, top = [], height
    for gap, size in parts:
        top -= gap + size
        axes.append(figure.add_axes((0.13, top / height, 0.85, size / height)))
    strip = axes[0]
    _strip(strip, history, upto=moment.position, legend_above=True)
    strip.axvline(moment.position + 0.5, color="#c44e52", lw=1.5, ls="--")
    last = moment.event
    happened = (
        f" (the last: {last.event.event_type} on {last.stream_id})" if last is not None else ""
    )
    strip.set_title(  # above the legend's row
        f"position {moment.position} of {len(history)}{happened}", fontsize=10, loc="left", pad=22
    )
    _table(axes[1], aggregates, "aggregates (replayed from their streams)")
    _table(axes[2], rows, f"read model {view.name} (checkpoint {view.position})")
    return figure


def plot_lag(run: ConsistencyRun) -> Figure:
    """The store's last position and the read model's checkpoint over time: the gap between
    them is how far the read side is behind."""
    figure = Figure(figsize=(8, 3.2), dpi=100)
    ax = figure.add_subplot()
    seconds = [s.second for s in run.samples]
    ax.step(seconds, [s.written for s in run.samples], where="post", color="#4c72b0", lw=2)
    ax.step(seconds, [s.read for s in run.samples], where="post", color="#55a868", lw=2)
    ax.fill_between(
        seconds,
        [s.read for s in run.samples],
        [s.written for s in run.samples],
        step="post",
        color="#c44e52",
        alpha=0.25,
    )
    ax.plot([], [], color="#4c72b0", lw=2, label="written (store's last position)")
    ax.plot([], [], color="#55a868", lw=2, label="read model's checkpoint")
    ax.fill_between([], [], [], color="#c44e52", alpha=0.25, label="lag: not visible to reads yet")
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("events")
    ax.set_title(
        f"{run.orders_per_second:g} orders/s, projector every {run.projector_every_s:g} s: "
        f"{run.stale_reads} of {run.writes} reads {run.read_after_s:g} s after a write missed it",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.2)
    figure.tight_layout()
    return figure


def draw_keying(trials: Sequence[KeyingTrial]) -> Figure:
    """For each trial, the partition each order's events went to (its creation, then its
    approval or cancellation), and whether the read model got the order right."""
    figure = Figure(figsize=(4.2 * len(trials), 3.0), dpi=100)
    for i, trial in enumerate(trials):
        ax = figure.add_subplot(1, len(trials), i + 1)
        orders = list(trial.truth)
        wrong = set(trial.wrong)
        for row, order in enumerate(orders):
            for step, partition in enumerate(trial.partitions.get(order, ())):
                ax.text(
                    step,
                    row,
                    f"p{partition}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    bbox={"boxstyle": "round", "fc": _PARTITIONS[partition % len(_PARTITIONS)]},
                    color="white",
                )
            verdict = trial.read_model.get(order, "missing")
            ax.text(
                2.0,
                row,
                f"{verdict} ({'WRONG' if order in wrong else 'right'})",
                va="center",
                fontsize=8,
                color="#c44e52" if order in wrong else "#2d7a3e",
            )
        ax.set_yticks(range(len(orders)), orders, fontsize=8)
        ax.set_xticks([0, 1], ["OrderCreated", "then approved\nor cancelled"], fontsize=7.5)
        ax.set_xlim(-0.5, 3.6)
        ax.set_ylim(len(orders) - 0.5, -0.5)
        ax.set_title(f"keyed by {trial.key_by}: {len(wrong)} of {len(orders)} wrong", fontsize=9)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    figure.tight_layout()
    return figure


_SIDES = {  # colour: what that part of the system is for
    "#4c72b0": "write side: decides, records events",
    "#937860": "the events: the truth",
    "#55a868": "read side: applies events, answers",
    "#dd8452": "publishing to other services",
}
_FLOW = {
    "command": (0.0, 1.0, "#4c72b0", "command\n(a request)"),
    "aggregate": (1.5, 1.0, "#4c72b0", "aggregate\nchecks the rules"),
    "store": (3.0, 1.0, "#937860", "event store\n(the truth)"),
    "projector": (4.5, 1.0, "#55a868", "projector\n(checkpoint)"),
    "read model": (6.0, 1.0, "#55a868", "read model"),
    "query": (7.5, 1.0, "#55a868", "query\n(an answer now)"),
    "outbox": (3.0, 0.0, "#dd8452", "outbox"),
    "topic": (4.5, 0.0, "#dd8452", "topic\n(on a broker)"),
    "consumer": (6.0, 0.0, "#55a868", "consumer\n(another service)"),
    "its read model": (7.5, 0.0, "#55a868", "its own\nread model"),
}
_ARROWS = (
    ("command", "aggregate", "load, decide"),
    ("aggregate", "store", "append events"),
    ("store", "projector", "read in order"),
    ("projector", "read model", "apply"),
    ("read model", "query", "read"),
    ("store", "outbox", ""),
    ("outbox", "topic", "publish"),
    ("topic", "consumer", "consume"),
    ("consumer", "its read model", "apply"),
)


def draw_cqrs_flow(
    *,
    title: str = "CQRS: the write side records events; read sides, here and elsewhere, apply them",
) -> Figure:
    """The parts of an event-sourced CQRS system and which way the events flow: the store feeds
    this program's read models, and an outbox publishes the same events to a topic from which
    other services build read models of their own."""
    figure = Figure(figsize=(10, 3.0), dpi=100)
    ax = figure.add_axes((0.0, 0.0, 1.0, 0.8))
    ax.axis("off")
    ax.set_xlim(-0.65, 8.2)
    ax.set_ylim(-0.45, 1.45)
    boxes = {}
    for name, (x, y, colour, label) in _FLOW.items():
        boxes[name] = ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8.5,
            color="white",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.45", "fc": colour, "ec": "none"},
        )
    for start, end, label in _ARROWS:
        (x0, y0, *_), (x1, y1, *_) = _FLOW[start], _FLOW[end]
        ax.annotate(  # clipped at the two boxes' edges, however wide their labels are
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#444444",
                "lw": 1.3,
                "patchA": boxes[start].get_bbox_patch(),
                "patchB": boxes[end].get_bbox_patch(),
                "shrinkA": 3,
                "shrinkB": 3,
            },
        )
        if label:
            ax.text(
                (x0 + x1) / 2,
                y0 + 0.3,
                label,
                ha="center",
                va="center",
                fontsize=8,
                color="#333333",
            )
    handles = [Patch(color=colour, label=side) for colour, side in _SIDES.items()]
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.9),
        ncol=4,
        fontsize=8.5,
        frameon=False,
    )
    figure.suptitle(title, fontsize=10.5, y=0.98)
    return figure


def draw_steps(steps: Sequence[tuple[str, str, bool]], *, title: str = "") -> Figure:
    """Who did what, in order: one lane per actor, one box per step, green if it went through
    and red if it was refused (for example two people saving the same aggregate)."""
    actors = list(dict.fromkeys(actor for actor, _, _ in steps))
    figure = Figure(figsize=(max(6.0, 1.55 * len(steps) + 1.2), 0.8 + 0.6 * len(actors)), dpi=100)
    ax = figure.add_subplot()
    for step, (actor, action, ok) in enumerate(steps):
        ax.text(
            step,
            actors.index(actor),
            action,
            ha="center",
            va="center",
            fontsize=7.5,
            color="white",
            bbox={"boxstyle": "round,pad=0.4", "fc": "#55a868" if ok else "#c44e52", "ec": "none"},
        )
    ax.set_yticks(range(len(actors)), actors, fontsize=9)
    ax.set_xticks(range(len(steps)), [str(n + 1) for n in range(len(steps))], fontsize=8)
    ax.set_xlabel("step", fontsize=8)
    ax.set_xlim(-0.7, len(steps) - 0.3)
    ax.set_ylim(len(actors) - 0.4, -0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "green: went through; red: refused", fontsize=9)
    figure.tight_layout()
    return figure


def plot_replay_cost(lengths: Sequence[int], events_read: dict[str, Sequence[int]]) -> Figure:
    """Events read to load one aggregate, against how many events its stream holds, for each
    way of loading it (a full replay, or snapshots every N events)."""
    figure = Figure(figsize=(7, 3.2), dpi=100)
    ax = figure.add_subplot()
    for n, (label, reads) in enumerate(events_read.items()):
        ax.plot(lengths, reads, marker="o", ms=3, lw=1.8, color=_PALETTE[n], label=label)
    ax.set_xlabel("events in the stream")
    ax.set_ylabel("events read to load it")
    ax.set_title("a snapshot caps a load's replay at fewer than N events", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.2)
    figure.tight_layout()
    return figure
