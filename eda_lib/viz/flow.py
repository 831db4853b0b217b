"""Laying a flow graph out left to right, in layers, with as few crossing edges as its layers allow.

The method is the usual one for drawing flows (Sugiyama's): break cycles by turning a few edges
round, put every node in a layer (a column) after the nodes that feed it, give an edge that
spans several layers a bend point in each layer it passes, and order the nodes of each layer so
that edges cross as little as possible. A topology from a lesson has a few dozen nodes at most,
so the order is searched exhaustively where that is cheap, and improved by the barycentre rule
(each node moves towards the mean position of its neighbours) where it is not.

Nodes that belong together stay together: the partitions of one topic, the members of one
group. `kin(node)` names a node's block; the search moves whole blocks, and reorders the nodes
inside a block only where `loose(block)` says their order means nothing (a group's members may
swap; a topic's partitions stay in their numbers' order).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import networkx as nx

EXHAUSTIVE_LIMIT = 50_000  # orders tried one by one at most; beyond, the barycentre rule


@dataclass
class FlowLayout:
    """Layers left to right, each a list of nodes top to bottom. A bend point is a node
    `("bend", source, target, i)`; `paths` lists, for every edge of the graph, the nodes its line
    passes, from its source to its target (through bends; right to left for a turned edge)."""

    layers: list[list[Hashable]]
    paths: dict[tuple[Hashable, Hashable], list[Hashable]] = field(default_factory=dict)

    def layer_of(self, node: Hashable) -> int:
        return next(i for i, layer in enumerate(self.layers) if node in layer)

    def segments(self) -> list[tuple[Hashable, Hashable]]:
        """Every straight piece of every edge, as (left node, right node)."""
        pieces = []
        for path in self.paths.values():
            for a, b in itertools.pairwise(path):
                pieces.append((a, b) if self.layer_of(a) < self.layer_of(b) else (b, a))
        return pieces

    def crossings(self, edges: Sequence[tuple[Hashable, Hashable]] | None = None) -> int:
        """How many pairs of straight pieces cross; with `edges`, only pairs that include a
        piece of one of those edges."""
        return count_crossings(self.layers, self.segments(), self._pieces_of(edges))

    def _pieces_of(
        self, edges: Sequence[tuple[Hashable, Hashable]] | None
    ) -> set[tuple[Hashable, Hashable]] | None:
        if edges is None:
            return None
        wanted = set()
        for edge in edges:
            path = self.paths[edge]
            for a, b in itertools.pairwise(path):
                wanted.add((a, b) if self.layer_of(a) < self.layer_of(b) else (b, a))
        return wanted


def count_crossings(
    layers: Sequence[Sequence[Hashable]],
    segments: Sequence[tuple[Hashable, Hashable]],
    only: set[tuple[Hashable, Hashable]] | None = None,
) -> int:
    """Two pieces between the same pair of layers cross when their ends come in opposite orders."""
    where = {node: (i, layer.index(node)) for i, layer in enumerate(layers) for node in layer}
    total = 0
    for first, second in itertools.combinations(segments, 2):
        if only is not None and first not in only and second not in only:
            continue
        (la, a0), (_, a1) = where[first[0]], where[first[1]]
        (lb, b0), (_, b1) = where[second[0]], where[second[1]]
        if la == lb and (a0 - b0) * (a1 - b1) < 0:
            total += 1
    return total


def flow_layout(
    graph: nx.DiGraph,
    *,
    kin: Callable[[Hashable], Hashable],
    loose: Callable[[Hashable], bool] = lambda block: False,
    first: Sequence[Hashable] = (),
    alone: Callable[[Hashable], int] = lambda node: 0,
) -> FlowLayout:
    """Lay `graph` out in layers. `first` lists nodes in the order the flow met them (it decides
    which edge of a cycle is turned round, and breaks ties between equally good orders); a node
    with no edge at all goes to layer `alone(node)`, or the last one if there are fewer."""
    rank: dict[Hashable, int] = {}
    for node in [*first, *sorted(graph.nodes, key=str)]:
        rank.setdefault(node, len(rank))
    forward = _acyclic(graph, rank)
    layer = _layers(forward, rank)
    last = max((layer[n] for n in graph if graph.degree(n)), default=0)
    for node in graph:
        if graph.degree(node) == 0:
            layer[node] = min(alone(node), last)
    layers: list[list[Hashable]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in sorted(graph.nodes, key=rank.__getitem__):
        layers[layer[node]].append(node)
    paths: dict[tuple[Hashable, Hashable], list[Hashable]] = {}
    for source, target in graph.edges:
        left, right = (source, target) if forward.has_edge(source, target) else (target, source)
        path = [left]
        for i in range(layer[left] + 1, layer[right]):
            bend = ("bend", source, target, i)
            layers[i].append(bend)
            path.append(bend)
        path.append(right)
        paths[(source, target)] = path if left == source else path[::-1]
    layout = FlowLayout(layers, paths)
    _order(layout, lambda node: node if _is_bend(node) else kin(node), loose)
    return layout


def _is_bend(node: Hashable) -> bool:
    return isinstance(node, tuple) and len(node) == 4 and node[0] == "bend"


def _acyclic(graph: nx.DiGraph, rank: dict[Hashable, int]) -> nx.DiGraph:
    """The graph with each edge that closes a cycle turned round (found by a depth-first walk
    from the nodes nothing feeds, then in the order the flow met them)."""
    forward = nx.DiGraph()
    forward.add_nodes_from(graph.nodes)
    state: dict[Hashable, str] = {}

    def walk(node: Hashable) -> None:
        state[node] = "open"
        for after in sorted(graph.successors(node), key=rank.__getitem__):
            if state.get(after) == "open":  # back to a node on the current path: a cycle
                forward.add_edge(after, node)
                continue
            forward.add_edge(node, after)
            if after not in state:
                walk(after)
        state[node] = "done"

    starts = sorted(graph.nodes, key=lambda n: (graph.in_degree(n) > 0, rank[n]))
    for node in starts:
        if node not in state:
            walk(node)
    return forward


def _layers(forward: nx.DiGraph, rank: dict[Hashable, int]) -> dict[Hashable, int]:
    """Each node one layer after the latest node that feeds it; then a node nothing feeds moves
    right, next to the first node it feeds, so a producer sits beside its topic."""
    layer: dict[Hashable, int] = {}
    for node in nx.topological_sort(forward):
        layer[node] = max((layer[p] + 1 for p in forward.predecessors(node)), default=0)
    for node in sorted(forward.nodes, key=rank.__getitem__, reverse=True):
        after = [layer[s] for s in forward.successors(node)]
        if forward.in_degree(node) == 0 and after:
            layer[node] = min(after) - 1
    return layer


def _orders(
    layer: list[Hashable], kin: Callable[[Hashable], Hashable], loose: Callable[[Hashable], bool]
) -> list[list[Hashable]]:
    """Every order of `layer` that keeps each block together."""
    inner = [
        list(itertools.permutations(block)) if loose(kin(block[0])) else [tuple(block)]
        for block in _blocks(layer, kin)
    ]
    orders = []
    for blocks in itertools.permutations(range(len(inner))):
        for picks in itertools.product(*(inner[b] for b in blocks)):
            orders.append(_flat(picks))
    return orders


def _blocks(layer: list[Hashable], kin: Callable[[Hashable], Hashable]) -> list[list[Hashable]]:
    blocks: dict[Hashable, list[Hashable]] = {}
    for node in layer:
        blocks.setdefault(kin(node), []).append(node)
    return list(blocks.values())


def _order(
    layout: FlowLayout, kin: Callable[[Hashable], Hashable], loose: Callable[[Hashable], bool]
) -> None:
    """Reorder each layer's blocks (in place) to minimise crossings. Pieces only join adjacent
    layers, so the best order of layer i given layer i-1 is found layer by layer (dynamic
    programming over every order of each layer) when there are few; else the barycentre rule,
    swept left and right a few times."""
    choices = [_orders(layer, kin, loose) for layer in layout.layers]
    if not choices:
        return
    between = _pieces_between(layout)
    if (
        max((len(a) * len(b) for a, b in itertools.pairwise(choices)), default=0)
        <= EXHAUSTIVE_LIMIT
    ):
        # best[j] = (crossings, orders) of the best orders of layers 0..i ending in choices[i][j]
        best = [(0, [order]) for order in choices[0]]
        for i in range(1, len(choices)):
            best = [
                min(
                    (
                        (cost + _cost(prev[-1], order, between[i - 1]), [*prev, order])
                        for cost, prev in best
                    ),
                    key=lambda pair: pair[0],  # min keeps the first of equals: the flow's own order
                )
                for order in choices[i]
            ]
        layout.layers[:] = min(best, key=lambda pair: pair[0])[1]
        return
    for sweep in range(8):
        rightwards = sweep % 2 == 0
        indices = range(1, len(choices)) if rightwards else range(len(choices) - 2, -1, -1)
        for i in indices:
            beside = layout.layers[i - 1] if rightwards else layout.layers[i + 1]
            pieces = between[i - 1] if rightwards else between[i]
            layout.layers[i] = _flat(
                sorted(_blocks(layout.layers[i], kin), key=lambda b: _barycentre(b, beside, pieces))
            )


def _pieces_between(layout: FlowLayout) -> list[list[tuple[Hashable, Hashable]]]:
    """The straight pieces between layer i and i+1, for each i."""
    between: list[list[tuple[Hashable, Hashable]]] = [[] for _ in layout.layers[1:]]
    for left, right in layout.segments():
        between[layout.layer_of(left)].append((left, right))
    return between


def _cost(
    left: list[Hashable], right: list[Hashable], pieces: Sequence[tuple[Hashable, Hashable]]
) -> int:
    return count_crossings([left, right], pieces)


def _barycentre(
    block: Sequence[Hashable], beside: list[Hashable], segments: Sequence[tuple[Hashable, Hashable]]
) -> float:
    places = [
        beside.index(other)
        for a, b in segments
        for node, other in ((a, b), (b, a))
        if node in block and other in beside
    ]
    return sum(places) / len(places) if places else math.inf


def _flat(blocks: Sequence[Sequence[Hashable]]) -> list[Hashable]:
    return [node for block in blocks for node in block]
