"""Pictures of a broker's live state (every lesson).

`topology` builds a networkx graph from a `BrokerState` (and the trace, for who produced what);
`draw_topology` lays it out by flow (eda_lib.viz.flow) and returns a matplotlib figure, which a
notebook shows as PNG. The trace's timeline is in eda_lib.viz.timeline.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Mapping
from typing import Any

import networkx as nx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, BrokerState, TopicPartition
from eda_lib.trace import Trace
from eda_lib.viz.flow import FlowLayout, flow_layout

COLOURS = {
    "producer": "#4c72b0",
    "partition": "#dd8452",
    "dead-letter": "#c44e52",
    "member": "#55a868",
    "group-down": "#bbbbbb",
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
            number=p.partition,
            label=f"{p.topic}[{p.partition}]\n{p.size} event{'s' * (p.size != 1)}",
        )
    for group in state.groups:
        if not group.members:
            node = f"group:{group.group}"
            graph.add_node(node, kind="group-down", label=f"{group.group}\n(no live member)")
            for tp, lag in sorted(group.lag.items()):
                _consume_edge(graph, tp, node, lag, waiting=True)
        for member, assigned in group.members.items():
            node = f"member:{group.group}/{member}"
            graph.add_node(
                node,
                kind="member",
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
            source = _service_node(graph, producer)
            if source is None:
                source = f"producer:{producer}"
                graph.add_node(source, kind="producer", label=producer)
            graph.add_edge(source, target, label=str(count), style="solid")
    return graph


def _service_node(graph: nx.DiGraph, name: str) -> str | None:
    """The node of the group a producer belongs to (the same name, a service that reads and
    publishes), when that group is one node: one live member, or none."""
    nodes = [n for n in graph if n == f"group:{name}" or n.startswith(f"member:{name}/")]
    return nodes[0] if len(nodes) == 1 else None


def _consume_edge(
    graph: nx.DiGraph, tp: TopicPartition, node: str, lag: int, waiting: bool
) -> None:
    source = f"partition:{tp.topic}[{tp.partition}]"
    if source in graph:  # a live member that is caught up needs no "lag 0" on every edge
        label = f"lag {lag}" if waiting or lag else ""
        graph.add_edge(source, node, label=label, style="dashed" if waiting else "solid")


def _kin(node: Hashable) -> Hashable:
    """Nodes drawn side by side: a topic's partitions, a group's members."""
    kind, _, name = str(node).partition(":")
    if kind == "partition":
        return ("topic", name.rsplit("[", 1)[0])
    if kind == "member":
        return ("group", name.split("/", 1)[0])
    return node


def _members(block: Hashable) -> bool:
    """A group's members may be drawn in any order; a topic's partitions keep theirs."""
    return isinstance(block, tuple) and block[0] == "group"


def _met(graph: nx.DiGraph, trace: Trace | None) -> list[str]:
    """The graph's nodes in the order the trace met them: who sent first, where it went, who
    read it."""
    met: dict[str, None] = {}
    for hop in trace.hops if trace else []:
        if hop.kind == "stored":
            names = [_service_node(graph, hop.actor) or f"producer:{hop.actor}"]
            names.append(f"partition:{hop.topic}[{hop.partition}]")
        elif hop.kind in ("delivered", "handled", "dead_lettered"):
            names = [f"member:{hop.group}/{hop.actor}", f"group:{hop.group}"]
        else:
            continue
        met.update((name, None) for name in _with_siblings(graph, names))
    return list(met)


def _with_siblings(graph: nx.DiGraph, names: list[str]) -> list[str]:
    """`names` that are in the graph, each partition with all its topic's, in number order."""
    found = []
    for name in (n for n in names if n in graph):
        if graph.nodes[name]["kind"] in ("partition", "dead-letter"):
            topic = [n for n in graph if _kin(n) == _kin(name)]
            found += sorted(topic, key=lambda n: graph.nodes[n]["number"])
        else:
            found.append(name)
    return found


def layer_positions(layout: FlowLayout) -> dict[Hashable, tuple[float, float]]:
    """Layer i at x = i. In each layer the nodes keep their order, one unit apart, each as near
    as that allows to the mean height of the nodes that feed it, so a chain runs level; then a
    node nothing feeds moves level with what it feeds."""
    pieces = layout.segments()
    y: dict[Hashable, float] = {}

    def mean_of(nodes: list[Hashable]) -> float | None:
        return sum(y[n] for n in nodes) / len(nodes) if nodes else None

    for layer in layout.layers:
        feeders = {n: [a for a, b in pieces if b == n] for n in layer}
        _place(layer, {n: mean_of(f) for n, f in feeders.items()}, y)
    for layer in layout.layers:
        if all(any(b == n for _, b in pieces) for n in layer):
            continue
        wanted = {
            n: y[n] if any(b == n for _, b in pieces) else mean_of([b for a, b in pieces if a == n])
            for n in layer
        }
        _place(layer, wanted, y)
    return {node: (float(x), y[node]) for x, layer in enumerate(layout.layers) for node in layer}


GAP = 0.75  # inches between the widest boxes of two layers: room for an arrow and its label


def _inches(
    layout: FlowLayout, positions: dict[Hashable, tuple[float, float]], graph: nx.DiGraph
) -> dict[Hashable, tuple[float, float]]:
    """Layer and row numbers to inches: each layer as wide as its widest label (guessed from its
    longest line; 9 pt bold is about 0.075 inch a character), rows 0.8 inch apart."""

    def width(node: Hashable) -> float:
        lines = graph.nodes[node]["label"].split("\n") if node in graph else [""]
        return 0.075 * max(len(line) for line in lines) + 0.3 if node in graph else 0.0

    widths = [max([0.0, *(width(n) for n in layer)]) for layer in layout.layers]
    left, x = 0.3, []
    for i, layer_width in enumerate(widths):
        x.append(left + layer_width / 2)
        left += layer_width + (GAP if i + 1 < len(widths) else 0.0)
    return {node: (x[int(column)], 0.8 * row) for node, (column, row) in positions.items()}


def _place(
    layer: list[Hashable], wanted: dict[Hashable, float | None], y: dict[Hashable, float]
) -> None:
    """Heights for `layer`, top down, one unit apart at least, close to the wanted ones (a node
    that wants nothing goes just under the one above)."""
    heights: list[float] = []
    for node in layer:
        above = heights[-1] - 1 if heights else None
        want = wanted[node]
        if want is None:
            want = above if above is not None else 0.0
        heights.append(want if above is None else min(want, above))
    offsets = [w - h for n, h in zip(layer, heights, strict=True) if (w := wanted[n]) is not None]
    shift = sum(offsets) / len(offsets) if offsets else (len(layer) - 1) / 2
    y.update((n, h + shift) for n, h in zip(layer, heights, strict=True))


def box_halves(
    figure: Figure, ax: Axes, boxes: Mapping[Hashable, Text]
) -> dict[Hashable, tuple[float, float]]:
    """Half the width and height of each text box, in data units: where an arrow to its centre
    must stop. (Drawing without rendering is what sizes the boxes.)"""
    figure.draw_without_rendering()
    to_data = ax.transData.inverted()
    half: dict[Hashable, tuple[float, float]] = {}
    for node, box in boxes.items():
        patch = box.get_bbox_patch()
        assert patch is not None
        (left, bottom), (right, top) = to_data.transform(patch.get_window_extent().get_points())
        half[node] = ((right - left) / 2, (top - bottom) / 2)
    return half


def box_edge(
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
    positions: dict[Hashable, tuple[float, float]],
    half: dict[Hashable, tuple[float, float]],
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
            fontsize=8,
            color="#2d7a3e",
        )


def flow_of(state: BrokerState, trace: Trace | None = None) -> tuple[nx.DiGraph, FlowLayout]:
    """`topology(state, trace)` and its layout: the flow left to right, a service that reads
    and publishes as one node, as few crossing edges as the layers allow."""
    graph = topology(state, trace)
    alone = {"producer": 0, "partition": 1, "dead-letter": 1}  # nothing sent or read: its column
    return graph, flow_layout(
        graph,
        kin=_kin,
        loose=_members,
        first=_met(graph, trace),
        alone=lambda node: alone.get(graph.nodes[node]["kind"], 2),
    )


_KINDS = {
    "producer": "producer",
    "partition": "topic partition",
    "member": "group member",
    "group-down": "group with no live member",
    "dead-letter": "dead-letter topic",
}


def draw_topology(state: BrokerState, trace: Trace | None = None, *, title: str = "") -> Figure:
    """Draw `flow_of(state, trace)`: who sends to which partition, who reads it, and what the
    readers publish in turn, left to right."""
    graph, layout = flow_of(state, trace)
    positions = _inches(layout, layer_positions(layout), graph)
    xs, ys = (
        [x for x, _ in positions.values()] or [0.0],
        [y for _, y in positions.values()] or [0.0],
    )
    width = max(6.0, max(xs) + min(xs))  # the first column's margin on the right too
    if width > max(xs) + min(xs):  # a narrow flow is centred
        shift = (width - max(xs) - min(xs)) / 2
        positions = {node: (x + shift, y) for node, (x, y) in positions.items()}
    band, flow = 0.5, max(ys) - min(ys) + 0.9  # inches: title and legend bands, the flow between
    figure = Figure(figsize=(width, flow + 2 * band), dpi=100)
    ax = figure.add_axes((0.0, band / (flow + 2 * band), 1.0, flow / (flow + 2 * band)))
    ax.set_xlim(0, width)  # one data unit is one inch, both ways: the layout's own measure
    ax.set_ylim(min(ys) - 0.45, max(ys) + 0.45)
    boxes = {}
    for node, data in graph.nodes(data=True):
        shape = (
            "square,pad=0.4" if data["kind"] in ("partition", "dead-letter") else "round,pad=0.45"
        )
        boxes[node] = ax.text(
            *positions[node],
            data["label"],
            ha="center",
            va="center",
            fontsize=9,
            color="white",
            fontweight="bold",
            zorder=3,
            bbox={"boxstyle": shape, "fc": COLOURS[data["kind"]], "ec": "none"},
        )
    ax.set_title(title or "Who sends to which partition, and who reads it", fontsize=11)
    ax.axis("off")
    kinds = [k for k in _KINDS if any(d["kind"] == k for _, d in graph.nodes(data=True))]
    ax.legend(
        handles=[
            Line2D([], [], marker="s", ls="", ms=9, color=COLOURS[k], label=_KINDS[k])
            for k in kinds
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(kinds),
        fontsize=8.5,
        frameon=False,
    )
    half = box_halves(figure, ax, boxes)
    _box_groups(ax, graph, positions, half)
    for (source, target), path in layout.paths.items():
        edge = graph.edges[source, target]
        draw_edge(
            ax,
            [positions[n] for n in path],
            half[source],
            half[target],
            style=edge["style"],
            label=edge["label"],
        )
    return figure


def draw_edge(
    ax: Axes,
    points: list[tuple[float, float]],
    source_half: tuple[float, float],
    target_half: tuple[float, float],
    *,
    style: str = "solid",
    label: str = "",
    colour: str = "#555555",
) -> None:
    """An arrow from the source box's edge to the target box's edge, bending at each point
    between (one per layer it passes); its label, if any, halfway along the first piece."""
    points = list(points)
    points[0] = box_edge(points[0], points[1], source_half)
    points[-1] = box_edge(points[-1], points[-2], target_half)
    line: dict[str, Any] = {"color": colour, "lw": 1.1, "linestyle": style}
    for (x0, y0), (x1, y1) in itertools.pairwise(points[:-1]):
        ax.plot([x0, x1], [y0, y1], zorder=2, solid_capstyle="butt", **line)
    ax.annotate(
        "",
        xy=points[-1],
        xytext=points[-2],
        zorder=2,
        arrowprops={"arrowstyle": "-|>", "mutation_scale": 14, "shrinkA": 0, "shrinkB": 2, **line},
    )
    if label:
        (x0, y0), (x1, y1) = points[0], points[1]
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            label,
            fontsize=8.5,
            ha="center",
            va="center",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
        )


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
