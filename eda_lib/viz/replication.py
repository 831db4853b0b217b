"""Pictures of lesson 16's cluster: which node leads each partition and which follow it, in sync
or not, with the nodes that are down greyed out and the active controller marked; and the `acks`
trials as bars of what the producer was told against what survived."""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Sequence

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from eda_lib.kafka import PartitionReplicas
from eda_lib.labs.replication import Trial

_UP, _DOWN, _PARTITION = "#4c72b0", "#b0b0b0", "#dd8452"
_LEADER, _IN_SYNC, _BEHIND = "#2d6a4f", "#55a868", "#c44e52"


def cluster_graph(partitions: Sequence[PartitionReplicas], nodes: Collection[int]) -> nx.DiGraph:
    """Partitions and nodes; an edge from a partition to each node holding a copy of it, with
    its role: `leader`, `in sync` (a follower the leader waits for with acks=all) or `behind`."""
    graph = nx.DiGraph()
    for node in sorted(nodes):
        graph.add_node(f"node {node}", kind="node", id=node)
    for p in partitions:
        name = f"{p.topic}[{p.partition}]"
        graph.add_node(name, kind="partition")
        for replica in p.replicas:
            role = "leader" if replica == p.leader else "in sync" if replica in p.isr else "behind"
            graph.add_edge(name, f"node {replica}", role=role)
    return graph


def draw_cluster(
    partitions: Sequence[PartitionReplicas],
    nodes: Collection[int],
    *,
    up: Collection[int],
    controller: int | None = None,
    title: str = "",
    note: Sequence[str] = (),
) -> Figure:
    """Partitions along the top, nodes along the bottom: a thick line to each partition's leader,
    a thin one to each in-sync follower, a dashed red one to a copy not in sync (behind, or on a
    node that is down). Each line of `note` is written under the picture."""
    graph = cluster_graph(partitions, nodes)
    node_names = [n for n, kind in graph.nodes(data="kind") if kind == "node"]
    partition_names = [n for n, kind in graph.nodes(data="kind") if kind == "partition"]
    place = {n: (2.0 * i, 0.0) for i, n in enumerate(node_names)}
    spread = 2.0 * (len(node_names) - 1) / max(len(partition_names) - 1, 1)
    place |= {n: (spread * i, 1.6) for i, n in enumerate(partition_names)}
    lines = [part for line in note for part in textwrap.wrap(line, 95)]
    figure = Figure(figsize=(7.5, 3.9 + 0.22 * len(lines)))
    ax = figure.subplots()
    for role, color, width, style in (
        ("in sync", _IN_SYNC, 1.5, "solid"),
        ("behind", _BEHIND, 1.5, "dashed"),
        ("leader", _LEADER, 4.0, "solid"),
    ):
        edges = [(a, b) for a, b, r in graph.edges(data="role") if r == role]
        nx.draw_networkx_edges(
            graph, place, edgelist=edges, ax=ax, edge_color=color, width=width, style=style,
            arrows=False,
        )  # fmt: skip
    colors = [_UP if graph.nodes[n]["id"] in up else _DOWN for n in node_names]
    nx.draw_networkx_nodes(
        graph, place, nodelist=node_names, node_color=colors, node_size=2600, ax=ax
    )
    nx.draw_networkx_nodes(
        graph, place, nodelist=partition_names, node_color=_PARTITION, node_shape="s",
        node_size=1500, ax=ax,
    )  # fmt: skip
    labels = {}
    for name in node_names:
        node = graph.nodes[name]["id"]
        labels[name] = f"node {node}" + ("" if node in up else "\ndown")
    for p in partitions:
        leader = "no leader" if p.leader is None else f"leader {p.leader}"
        labels[f"{p.topic}[{p.partition}]"] = f"p{p.partition}\n{leader}"
    nx.draw_networkx_labels(graph, place, labels=labels, ax=ax, font_size=8, font_color="white")
    if controller is not None and f"node {controller}" in place:
        x, y = place[f"node {controller}"]
        ax.annotate("active controller", (x, y - 0.32), ha="center", va="top", fontsize=8)
    ax.legend(
        handles=[
            Line2D([], [], color=_LEADER, lw=4, label="leader"),
            Line2D([], [], color=_IN_SYNC, lw=1.5, label="follower, in sync"),
            Line2D([], [], color=_BEHIND, lw=1.5, ls="--", label="copy not in sync"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    ax.set_xlim(-0.8, 2.0 * (len(node_names) - 1) + 0.8)
    ax.set_ylim(-0.75, 2.05)
    ax.set_axis_off()
    ax.set_title(title or (partitions[0].topic if partitions else "cluster"), fontsize=10)
    if lines:
        figure.text(0.02, 0.02, "\n".join(lines), fontsize=9, va="bottom", linespacing=1.5)
        below = 0.22 * len(lines) / (3.9 + 0.22 * len(lines))  # the note's share of the height
        figure.tight_layout(rect=(0, below + 0.02, 1, 1))
    else:
        figure.tight_layout()
    return figure


def plot_trials(trials: Sequence[Trial]) -> Figure:
    """Per trial, two bars: the records the producer was told were stored but the log no longer
    holds after the leader died, and the records the log holds twice (a producer without
    idempotence that sends a batch again after a failover may store it a second time)."""
    figure = Figure(figsize=(7.5, 3.2))
    ax = figure.subplots()
    width = 0.36
    for shift, label, counts, color in (
        (-width / 2, "lost", [t.lost for t in trials], _BEHIND),
        (width / 2, "twice", [t.duplicated for t in trials], _PARTITION),
    ):
        positions = [i + shift for i in range(len(trials))]
        ax.bar(positions, counts, width, color=color, label=label)
        for x, t, n in zip(positions, trials, counts, strict=True):
            text = f"lost {n}\nof {t.told} told" if label == "lost" else f"twice {n}"
            ax.annotate(text, (x, n), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(trials)), [f"acks={t.acks}" for t in trials])
    ax.set_ylabel("records")  # acks=0 is told only that it was sent
    top = max([t.lost for t in trials] + [t.duplicated for t in trials] + [10])
    ax.set_ylim(0, top * 1.35)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title(
        "leader SIGKILLed mid-stream, no idempotence: records told stored, then lost or twice",
        fontsize=10,
    )
    figure.tight_layout()
    return figure
