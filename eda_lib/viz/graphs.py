"""Pictures of a broker's live state and of a trace (every lesson).

`topology` builds a networkx graph from a `BrokerState` (and the trace, for who produced what);
`draw_topology` and `draw_timeline` return matplotlib figures, which a notebook shows as PNG.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import networkx as nx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, BrokerState, TopicPartition
from eda_lib.trace import Hop, Trace

COLOURS = {
    "producer": "#4c72b0",
    "partition": "#dd8452",
    "dead-letter": "#c44e52",
    "member": "#55a868",
    "group-down": "#bbbbbb",
}


@dataclass(frozen=True)
class _Column:
    x: float
    title: str


_COLUMNS = {
    "producer": _Column(0.0, "producers"),
    "partition": _Column(1.0, "topics / partitions"),
    "member": _Column(2.0, "consumer groups / members"),
}


def topology(state: BrokerState, trace: Trace | None = None) -> nx.DiGraph:
    """Producers -> partitions -> group members, labelled with counts and lag.

    A group with no live member is one grey node: its partitions wait for it, with their lag.
    Dead-letter topics appear once something was dead-lettered.
    """
    graph = nx.DiGraph()
    dead_letters = Counter(
        (hop.group, hop.topic + DEAD_LETTER_SUFFIX)
        for hop in (trace.select("dead_lettered") if trace else [])
    )
    for p in state.partitions:
        dead = p.topic.endswith(DEAD_LETTER_SUFFIX)
        if dead and p.end_offset == 0:
            continue
        graph.add_node(
            f"partition:{p.topic}[{p.partition}]",
            kind="dead-letter" if dead else "partition",
            column="partition",
            label=f"{p.topic}[{p.partition}]\n{p.size} event{'s' * (p.size != 1)}",
        )
    if trace is not None:
        sent = Counter(
            (hop.actor, hop.topic, hop.partition)
            for hop in trace.select("stored")
            if hop.actor and not hop.topic.endswith(DEAD_LETTER_SUFFIX)
        )
        for (producer, topic, partition), count in sorted(sent.items()):
            target = f"partition:{topic}[{partition}]"
            if target not in graph:
                continue
            graph.add_node(
                f"producer:{producer}", kind="producer", column="producer", label=producer
            )
            graph.add_edge(f"producer:{producer}", target, label=str(count), style="solid")
    for group in state.groups:
        if not group.members:
            node = f"group:{group.group}"
            graph.add_node(
                node, kind="group-down", column="member", label=f"{group.group}\n(no live member)"
            )
            for tp, lag in sorted(group.lag.items()):
                _consume_edge(graph, tp, node, lag, waiting=True)
        for member, assigned in group.members.items():
            node = f"member:{group.group}/{member}"
            graph.add_node(
                node,
                kind="member",
                column="member",
                label=f"{group.group}\n{member}" + ("" if assigned else "\n(idle)"),
            )
            for tp in assigned:
                _consume_edge(graph, tp, node, group.lag.get(tp, 0), waiting=False)
        for (source_group, dead_topic), count in sorted(dead_letters.items()):
            if source_group != group.group:
                continue
            origin = next(
                iter(
                    sorted(
                        n
                        for n in graph
                        if n.startswith(f"member:{group.group}/") or n == f"group:{group.group}"
                    )
                ),
                None,
            )
            target = f"partition:{dead_topic}[0]"
            if origin and target in graph:
                graph.add_edge(origin, target, label=f"{count} dead", style="dotted")
    return graph


def _consume_edge(
    graph: nx.DiGraph, tp: TopicPartition, node: str, lag: int, waiting: bool
) -> None:
    source = f"partition:{tp.topic}[{tp.partition}]"
    if source in graph:  # a live member that is caught up needs no "lag 0" on every edge
        label = f"lag {lag}" if waiting or lag else ""
        graph.add_edge(source, node, label=label, style="dashed" if waiting else "solid")


def _layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    positions: dict[str, tuple[float, float]] = {}
    for name, column in _COLUMNS.items():
        nodes = sorted(
            (n for n, data in graph.nodes(data=True) if data["column"] == name),
            key=lambda n: (graph.nodes[n]["kind"] == "dead-letter", n),
        )
        for i, node in enumerate(nodes):
            positions[node] = (column.x, -(i - (len(nodes) - 1) / 2))
    return positions


def _edge_of(
    centre: tuple[float, float], towards: tuple[float, float], half: tuple[float, float]
) -> tuple[float, float]:
    """Where the line from a box's centre towards another point leaves the box."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    scale = min(
        half[0] / abs(dx) if dx else float("inf"), half[1] / abs(dy) if dy else float("inf")
    )
    return centre[0] + dx * scale, centre[1] + dy * scale


def _box_groups(
    ax: Axes,
    graph: nx.DiGraph,
    positions: dict[str, tuple[float, float]],
    half: dict[str, tuple[float, float]],
) -> None:
    """A dashed frame around the members of each group that has more than one: they share
    the group's partitions."""
    groups: dict[str, list[str]] = {}
    for node, data in graph.nodes(data=True):
        if data["kind"] == "member":
            groups.setdefault(node.split(":", 1)[1].split("/", 1)[0], []).append(node)
    for group, members in groups.items():
        if len(members) < 2:
            continue
        left = min(positions[m][0] - half[m][0] for m in members) - 0.06
        right = max(positions[m][0] + half[m][0] for m in members) + 0.06
        bottom = min(positions[m][1] - half[m][1] for m in members) - 0.1
        top = max(positions[m][1] + half[m][1] for m in members) + 0.22
        ax.add_patch(
            FancyBboxPatch(
                (left, bottom),
                right - left,
                top - bottom,
                boxstyle="round,pad=0.02",
                fc="none",
                ec=COLOURS["member"],
                ls="--",
                lw=1.0,
                zorder=1,
            )
        )
        ax.text(
            (left + right) / 2,
            top - 0.09,
            f"group {group}",
            ha="center",
            fontsize=7,
            color="#2d7a3e",
        )


def draw_topology(state: BrokerState, trace: Trace | None = None, *, title: str = "") -> Figure:
    """Draw `topology(state, trace)` in three columns: producers, partitions, consumers."""
    graph = topology(state, trace)
    rows = max([1, *Counter(d["column"] for _, d in graph.nodes(data=True)).values()])
    figure = Figure(figsize=(9.5, 1.3 + 0.95 * rows), dpi=100)
    ax = figure.add_subplot()
    positions = _layout(graph)
    boxes = {}
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        shape = (
            "square,pad=0.5" if data["kind"] in ("partition", "dead-letter") else "round,pad=0.6"
        )
        boxes[node] = ax.text(
            x,
            y,
            data["label"],
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            fontweight="bold",
            zorder=3,
            bbox={"boxstyle": shape, "fc": COLOURS[data["kind"]], "ec": "none"},
        )
    ys = [y for _, y in positions.values()] or [0.0]
    top = max(ys) + 0.8
    for column in _COLUMNS.values():
        ax.text(column.x, top, column.title, ha="center", fontsize=9, color="#333333")
    ax.set_xlim(-0.45, 2.45)
    ax.set_ylim(min(ys) - 0.6, top + 0.3)
    ax.set_title(title or "Who sends to which partition, and who reads it", fontsize=11)
    ax.axis("off")
    figure.draw_without_rendering()  # sizes the boxes, so arrows can stop at their edges
    to_data = ax.transData.inverted()
    half: dict[str, tuple[float, float]] = {}
    for node, box in boxes.items():
        patch = box.get_bbox_patch()
        assert patch is not None
        (left, bottom), (right, top_) = to_data.transform(patch.get_window_extent().get_points())
        half[node] = ((right - left) / 2, (top_ - bottom) / 2)
    _box_groups(ax, graph, positions, half)
    for source, target, data in graph.edges(data=True):
        start = _edge_of(positions[source], positions[target], half[source])
        end = _edge_of(positions[target], positions[source], half[target])
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            zorder=2,
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "lw": 1.1,
                "mutation_scale": 14,
                "linestyle": data["style"],
                "shrinkA": 2,
                "shrinkB": 2,
            },
        )
        (x0, y0), (x1, y1) = start, end
        along = 0.5 if source.startswith("producer:") else 0.2  # near the partition: less crowded
        if not data["label"]:
            continue
        ax.text(
            x0 + along * (x1 - x0),
            y0 + along * (y1 - y0),
            data["label"],
            fontsize=7.5,
            ha="center",
            va="center",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    return figure


_MARKERS = {
    "produced": ("o", "#4c72b0"),
    "stored": ("s", "#dd8452"),
    "delivered": ("v", "#8172b3"),
    "handled": ("^", "#55a868"),
    "ignored": ("x", "#937860"),
    "failed": ("X", "#c44e52"),
    "dead_lettered": ("D", "#c44e52"),
    "committed": ("|", "#333333"),
    "expired": ("*", "#999999"),
    "retried": ("o", "#ccb974"),
    "dropped": ("x", "#999999"),
    "duplicated": ("+", "#8172b3"),
    "gap": ("<", "#dd8452"),
    "duplicate": ("1", "#64b5cd"),
    "crashed": ("X", "#000000"),
}


def _lane(hop_kind: str, topic: str, partition: int, group: str, actor: str) -> str:
    if hop_kind == "produced":
        return f"producer {actor}"
    if hop_kind in ("stored", "expired"):
        return f"{topic}[{partition}]"
    return f"{group}/{actor}"


_PATHS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#64b5cd")


def draw_timeline(
    trace: Trace, *, last: int | None = None, title: str = "", x: Literal["step", "time"] = "step"
) -> Figure:
    """Every hop as a mark in its lane (producer, partition or group member), in order.

    Lanes run in the order events flow (producers, then partitions, then members, each in the
    order they first appear). A coloured line follows each record from its partition to each
    group that reads it, one colour per record, so a redelivery shows up as a second visit to a
    member's lane. A dotted vertical line marks each rebalance (a member joined, left or was
    cancelled). With `x="time"` the hops are placed by when they happened (seconds since the
    first), which shows what ran at the same time; by default, one step per hop.
    """
    everything = trace.hops if last is None else trace.hops[-last:]
    t0 = everything[0].time if everything else None

    def at(hop: Hop) -> float:
        if x == "time" and t0 is not None:
            return (hop.time - t0).total_seconds()
        return float(hop.seq)

    hops = [h for h in everything if h.kind in _MARKERS]
    rebalances = [h for h in everything if h.kind == "rebalanced"]
    first_seen: dict[str, int] = {}
    for hop in hops:
        first_seen.setdefault(
            _lane(hop.kind, hop.topic, hop.partition, hop.group, hop.actor), hop.seq
        )
    lanes = sorted(
        first_seen,
        key=lambda lane: (not lane.startswith("producer"), "/" in lane, first_seen[lane]),
    )
    row = {lane: i for i, lane in enumerate(lanes)}
    figure = Figure(figsize=(9.5, 1.4 + 0.45 * max(1, len(lanes))), dpi=100)
    ax: Axes = figure.add_subplot()
    stored: dict[tuple[str, int, int], tuple[float, int]] = {}
    paths: dict[tuple[str, int, int, str], list[tuple[float, int]]] = {}
    for hop in hops:
        y = row[_lane(hop.kind, hop.topic, hop.partition, hop.group, hop.actor)]
        record = (hop.topic, hop.partition, hop.offset)
        if hop.kind == "stored":
            stored[record] = (at(hop), y)
        elif hop.offset >= 0 and hop.group and hop.kind != "committed":
            path = paths.setdefault(
                (*record, hop.group), [stored[record]] if record in stored else []
            )
            path.append((at(hop), y))
    colour_of: dict[tuple[str, int, int], str] = {}
    for (topic, partition, offset, _), points in paths.items():  # from its log to its handling
        record = (topic, partition, offset)
        colour = colour_of.setdefault(record, _PATHS[len(colour_of) % len(_PATHS)])
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        ax.plot(xs, ys, color=colour, lw=0.9, alpha=0.55, zorder=1)
    at_x: dict[float, list[str]] = {}  # rebalances at one moment share a line and a label
    for hop in rebalances:
        groups = at_x.setdefault(at(hop), [])
        if hop.group not in groups:
            groups.append(hop.group)
    for position, groups in at_x.items():  # labelled in a band under the last lane
        ax.axvline(position, color="#888888", lw=0.9, ls=":", zorder=0)
        ax.text(
            position,
            len(lanes) - 0.4,
            "\n".join(groups),
            rotation=90,
            fontsize=6,
            color="#666666",
            ha="center",
            va="top",
        )
    for kind, (marker, colour) in _MARKERS.items():
        chosen = [h for h in hops if h.kind == kind]
        ax.scatter(
            [at(h) for h in chosen],
            [row[_lane(h.kind, h.topic, h.partition, h.group, h.actor)] for h in chosen],
            marker=marker,
            color=colour,
            s=36,
            zorder=2,
            label=kind,
        )
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax.set_ylim(len(lanes) - 0.5 + (1.4 if rebalances else 0.0), -0.5)  # lanes top down
    axis = "seconds since the first hop" if x == "time" else "step in the trace"
    ax.set_xlabel(axis + (" (dotted: a group rebalanced)" if rebalances else ""))
    ax.set_title(title or "The trace: every hop of every event", fontsize=11)
    present = [k for k in _MARKERS if any(h.kind == k for h in hops)]
    handles = [
        Line2D([], [], marker=_MARKERS[k][0], color=_MARKERS[k][1], ls="", label=k) for k in present
    ]
    ax.legend(handles=handles, fontsize=7.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", alpha=0.2)
    figure.tight_layout()
    return figure


def assignment_table(state: BrokerState, group: str) -> str:
    """Which member of `group` owns which partitions, and the lag of each, as text."""
    current = state.group(group)
    lines = [
        f"group '{group}': {len(current.members)} live member(s), total lag {current.total_lag}"
    ]
    for member, assigned in current.members.items():
        owned = ", ".join(f"{tp} (lag {current.lag.get(tp, 0)})" for tp in assigned)
        lines.append(f"  {member:<12} {owned or 'idle: more members than partitions'}")
    return "\n".join(lines)
