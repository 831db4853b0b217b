"""Pictures of lesson 15's shop: its services and topics as one flow graph (services down
greyed, each reader's lag on its box), and where each order's saga stands."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.processing.windows import WindowCounted
from eda_lib.shop.events import SAGA_STEPS
from eda_lib.shop.read_model import ShopOrders
from eda_lib.shop.wiring import FLOW

_PLACES = {
    "shop front": (-1.6, 1.0),
    "orders": (0.0, 1.0),
    "shop-orders": (1.0, 0.0),
    "payments": (2.0, 1.0),
    "shop-payments": (3.0, 0.0),
    "shipping": (4.0, 1.0),
    "shop-shipments": (5.0, 0.0),
    "notifications": (6.0, 1.0),
    "shop-emails": (7.0, 0.0),
    "analytics": (3.0, -1.1),
    "shop-revenue": (4.6, -1.1),
    "read-model": (6.0, -1.1),
}
_SERVICE, _TOPIC, _DOWN = "#4c72b0", "#dd8452", "#b0b0b0"
_STEPS = tuple(SAGA_STEPS.values())  # the columns, in the saga's order
_GOOD, _BAD = "#55a868", "#c44e52"
_BAD_STEPS = {"declined", "shipment failed", "refunded", "cancelled"}


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


def draw_shop(
    *,
    down: Collection[str] = (),
    lag: Mapping[str, int] | None = None,
    parked: Mapping[str, int] | None = None,
    title: str = "",
) -> Figure:
    """The shop's flow graph: services (blue boxes) publish to topics (orange); arrows run the
    way events flow. A service in `down` is grey; `lag` puts each reader's lag on its box;
    `parked` (topic -> records) adds each topic's dead-letter topic, in red, with its count."""
    graph = shop_graph()
    for topic, count in (parked or {}).items():
        if count and topic in graph:
            letters = f"{topic}{DEAD_LETTER_SUFFIX}"
            x, y = _PLACES[topic]
            graph.add_node(letters, kind="dead-letter", count=count, place=(x - 1.1, y - 0.75))
            graph.add_edge(topic, letters)
    figure = Figure(figsize=(11.5, 4.4), dpi=100)
    ax = figure.add_subplot()
    places = {node: graph.nodes[node].get("place") or _PLACES[node] for node in graph}
    for wide in (False, True):  # edges into the wide orders box stop further out
        nx.draw_networkx_edges(
            graph,
            places,
            edgelist=[edge for edge in graph.edges if (edge[1] == "orders") == wide],
            ax=ax,
            edge_color="#777777",
            arrows=True,
            arrowsize=12,
            node_size=2600,
            min_target_margin=34 if wide else 14,
            connectionstyle="arc3,rad=0.08",
        )
    for node, (x, y) in places.items():
        kind = graph.nodes[node]["kind"]
        label = node
        if kind == "dead-letter":
            label = f"{node}\n{graph.nodes[node]['count']} parked"
        if kind == "service":
            label = f"{node}\nservice" + ("\n(event-sourced)" if node == "orders" else "")
            if lag is not None and lag.get(node):
                label += f"\nlag {lag[node]}"
            if node in down:
                label += "\nDOWN"
        colour = _TOPIC if kind == "topic" else _DOWN if node in down else _SERVICE
        if kind == "front":
            colour = "#8172b2"
        if kind == "dead-letter":
            colour = _BAD
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            bbox={
                "boxstyle": "round,pad=0.5" if kind in ("service", "front") else "sawtooth,pad=0.4",
                "fc": colour,
                "ec": "none",
            },
        )
    ax.set_xlim(-2.3, 7.7)
    ax.set_ylim(-1.7, 1.6)
    ax.axis("off")
    ax.set_title(
        title or "the shop: services (blue) publish to topics (orange); arrows follow events",
        fontsize=9,
    )
    figure.tight_layout()
    return figure


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
    minute of all the money taken, so a minute still open on some partition shows as a gap. A
    payment sent again (the same id, a new time) counts once, at its first copy's time."""
    closed: dict[datetime, int] = {}
    for result in results:
        closed[result.window_start] = closed.get(result.window_start, 0) + result.total
    first: dict[str, PaymentSuccessful] = {}
    for payment in taken:  # a repeat has the same id and a new time: the first copy's is true
        first.setdefault(str(payment.id), payment)
    everything: dict[datetime, int] = {}
    for payment in first.values():
        minute = payment.time.replace(second=0, microsecond=0)
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
