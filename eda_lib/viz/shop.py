"""Pictures of lesson 15's shop: its services and topics as one flow graph, top to bottom (services
down greyed, each reader's lag on its box), where each order's saga stands, and the revenue."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.processing.windows import WindowCounted
from eda_lib.shop.events import SAGA_STEPS
from eda_lib.shop.read_model import ShopOrders
from eda_lib.shop.wiring import FLOW
from eda_lib.viz.flow import FlowLayout, flow_layout
from eda_lib.viz.graphs import box_halves, draw_edge, layer_positions

_FRONT, _SERVICE, _TOPIC, _DOWN = "#8172b2", "#4c72b0", "#dd8452", "#8c8c8c"
_STEPS = tuple(SAGA_STEPS.values())  # the columns, in the saga's order
_GOOD, _BAD = "#55a868", "#c44e52"
_BAD_STEPS = {"declined", "shipment failed", "refunded", "cancelled"}
_MET = ("shop front", "orders", "shop-orders", "payments", "shop-payments", "shipping")
"""The saga's happy path, in the order it meets its nodes: the layout keeps it first."""
_KEY = {
    "front": (_FRONT, "shop front (where orders are placed)"),
    "service": (_SERVICE, "service"),
    "down": (_DOWN, "service down"),
    "topic": (_TOPIC, "topic"),
    "dead-letter": (_BAD, "dead-letter topic"),
}


def shop_graph(
    flow: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = FLOW,
) -> nx.DiGraph:
    """Services and topics as nodes; an edge from each writer to its topic, and from each
    topic to each of its readers."""
    graph = nx.DiGraph()
    graph.add_node("shop front", kind="front")
    graph.add_edge("shop front", "orders")
    for service, (reads, writes) in flow.items():
        graph.add_node(service, kind="service")
        for topic in writes:
            graph.add_node(topic, kind="topic")
            graph.add_edge(service, topic)
        for topic in reads:
            graph.add_node(topic, kind="topic")
            graph.add_edge(topic, service)
    return graph


def shop_layout(graph: nx.DiGraph) -> FlowLayout:
    """The flow's layers, each ordered with as few crossings as its layers allow."""
    return flow_layout(graph, kin=lambda node: node, first=_MET)


_ACROSS, _DOWNWARDS = 1.35, 0.62  # inches between neighbours in a layer, and between layers


def draw_shop(
    *,
    down: Collection[str] = (),
    lag: Mapping[str, int] | None = None,
    parked: Mapping[str, int] | None = None,
    title: str = "",
) -> Figure:
    """The shop's flow graph, top to bottom in layers (`shop_layout`): the shop front, services
    and topics; arrows run the way events flow, from a writer to its topic and from a topic to
    each reader. A service in `down` is grey; `lag` puts each reader's lag on its box; `parked`
    (topic -> records) adds each topic's dead-letter topic, in red, with its count."""
    graph = shop_graph()
    for topic, count in (parked or {}).items():
        if count and topic in graph:
            letters = f"{topic}{DEAD_LETTER_SUFFIX}"
            graph.add_node(letters, kind="dead-letter", count=count)
            graph.add_edge(topic, letters)
    layout = shop_layout(graph)
    rows = layer_positions(layout)  # (layer, place in the layer): turned a quarter, layers run down
    across = [-row for _, row in rows.values()]
    left = min(across)
    places = {
        node: (0.9 + (-row - left) * _ACROSS, -layer * _DOWNWARDS)
        for node, (layer, row) in rows.items()
    }
    width = 1.8 + (max(across) - left) * _ACROSS
    height = (len(layout.layers) - 1) * _DOWNWARDS
    band_top, band_bottom = 0.45, 0.75  # inches: the title above, the key below
    figure = Figure(figsize=(width, height + 0.6 + band_top + band_bottom), dpi=100)
    total = height + 0.6 + band_top + band_bottom
    ax = figure.add_axes((0.0, band_bottom / total, 1.0, (height + 0.6) / total))
    ax.set_xlim(0, width)  # one data unit is one inch, both ways
    ax.set_ylim(-height - 0.3, 0.3)
    ax.axis("off")
    boxes = {}
    kinds = set()
    for node, data in graph.nodes(data=True):
        kind = "down" if node in down else data["kind"]
        kinds.add(kind)
        boxes[node] = ax.text(
            *places[node],
            _label(node, data, lag, down),
            ha="center",
            va="center",
            fontsize=8.5,
            color="white",
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.4"
                if kind in ("service", "down", "front")
                else "square,pad=0.4",
                "fc": _KEY[kind][0],
                "ec": "none",
            },
        )
    half = box_halves(figure, ax, boxes)
    for (source, target), path in layout.paths.items():
        points = [places[node] for node in path]
        draw_edge(ax, points, half[source], half[target], colour="#666666")
    shown = [kind for kind in _KEY if kind in kinds]
    ax.legend(
        handles=[
            Line2D([], [], marker="s", ls="", ms=9, color=_KEY[k][0], label=_KEY[k][1])
            for k in shown
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.01),
        ncol=len(shown),
        fontsize=8.5,
        frameon=False,
    )
    ax.set_title(
        title or "the shop: arrows follow events, from writer to topic to reader", fontsize=10
    )
    return figure


def _label(
    node: str, data: dict[str, object], lag: Mapping[str, int] | None, down: Collection[str]
) -> str:
    if data["kind"] == "dead-letter":
        return node.replace(".", "\n.", 1) + f"\n{data['count']} parked"
    notes = []
    if node == "orders":
        notes.append("event-sourced")
    if lag and lag.get(node):
        notes.append(f"lag {lag[node]}")
    if node in down:
        notes.append("DOWN")
    return node + ("\n" + ", ".join(notes) if notes else "")


def draw_orders(read_model: ShopOrders, *, title: str = "") -> Figure:
    """Each order as a row, each step of the saga as a column: filled where that fact has
    happened (green on the happy path, red for a failure or a compensation), and the status
    the read model works out from them on the right."""
    rows = sorted(read_model.rows.values(), key=lambda row: row.order_id)
    figure = Figure(figsize=(9.5, 0.9 + 0.42 * max(1, len(rows))), dpi=100)
    ax = figure.add_subplot()
    for y, row in enumerate(rows):
        for x, step in enumerate(_STEPS):
            happened = step in row.facts
            colour = (_BAD if step in _BAD_STEPS else _GOOD) if happened else "#eeeeee"
            ax.add_patch(_cell(x, y, colour))
        ax.text(len(_STEPS) + 0.1, y, row.status, va="center", fontsize=8)
    ax.set_xticks(range(len(_STEPS)), _STEPS, rotation=30, ha="left", fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)), [row.order_id for row in rows], fontsize=8)
    ax.set_xlim(-0.6, len(_STEPS) + 1.6)
    ax.set_ylim(max(1, len(rows)) - 0.5, -0.5)
    for side in ("right", "bottom", "left", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=9, pad=40)
    figure.tight_layout()
    return figure


def _cell(x: float, y: float, colour: str) -> Rectangle:
    return Rectangle((x - 0.42, y - 0.38), 0.84, 0.76, color=colour)


def plot_revenue(
    results: Sequence[WindowCounted],
    taken: Sequence[PaymentSuccessful] = (),
    *,
    title: str = "",
) -> Figure:
    """Revenue per minute from the analytics processor's results (one per input partition and
    window, summed here): solid bars. With `taken`, the payments themselves: an outline per
    minute of all the money taken, so a minute still open on some partition shows as a gap.
    Minutes are of payment time, `occurred_at`, as analytics counts; a payment sent again (the
    same id, made again with a new time) counts once, at its first copy's time."""
    closed: dict[datetime, int] = {}
    for result in results:
        closed[result.window_start] = closed.get(result.window_start, 0) + result.total
    first: dict[str, PaymentSuccessful] = {}
    for payment in taken:  # a repeat has the same id and a new time: the first copy's is true
        first.setdefault(str(payment.id), payment)
    everything: dict[datetime, int] = {}
    for payment in first.values():
        minute = payment.occurred_at.replace(second=0, microsecond=0)
        everything[minute] = everything.get(minute, 0) + payment.amount
    minutes = sorted(closed.keys() | everything.keys())
    figure = Figure(figsize=(7.0, 3.0), dpi=100)
    ax = figure.add_subplot()
    xs = range(len(minutes))
    ax.bar(xs, [closed.get(m, 0) / 100 for m in minutes], color=_SERVICE, label="published")
    if everything:
        ax.bar(
            xs,
            [everything.get(m, 0) / 100 for m in minutes],
            fill=False,
            edgecolor="#333333",
            linestyle="--",
            label="all payments taken",
        )
    ax.set_xticks(list(xs), [f"{minute:%H:%M}" for minute in minutes])
    ax.set_ylabel("revenue (USD)")
    ax.set_xlabel("minute of payment time")
    ax.legend(fontsize=8)
    ax.set_title(
        title or "revenue per minute: what analytics has published, against every payment",
        fontsize=9,
    )
    figure.tight_layout()
    return figure
