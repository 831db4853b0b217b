"""Laying a flow graph out left to right, in layers, with as few crossing edges as its layers allow.

The method is the usual one for drawing flows (Sugiyama's): break cycles by turning a few edges
round, put every node in a layer (a column) after the nodes that feed it, give an edge that
spans several layers a bend point in each layer it passes, and order the nodes of each layer so
that edges cross as little as possible. A topology from a lesson has a few dozen nodes at most,
so every order of every layer is compared (a matrix product per pair of layers) where that is
cheap, and where it is not the barycentre rule (each node moves towards the mean position of its
neighbours) and a local search give a good order.

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
import numpy as np
import numpy.typing as npt

EXHAUSTIVE_LIMIT = 4_000_000  # pairs of neighbouring orders compared at most; beyond, a heuristic
LOCAL_LIMIT = 5_040  # orders of one layer the heuristic's local search tries (7 blocks)


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
    limit: int = EXHAUSTIVE_LIMIT,
) -> FlowLayout:
    """Lay `graph` out in layers. `first` lists nodes in the order the flow met them (it decides
    which edge of a cycle is turned round, and breaks ties between equally good orders); a node
    with no edge at all goes to layer `alone(node)`, or the last one if there are fewer. Orders
    are searched exhaustively while two neighbouring layers have at most `limit` pairs of them."""
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
    _order(layout, lambda node: node if _is_bend(node) else kin(node), loose, limit)
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


def _how_many_orders(
    layer: list[Hashable], kin: Callable[[Hashable], Hashable], loose: Callable[[Hashable], bool]
) -> int:
    """How many orders `_orders` would list, counted without listing them."""
    blocks = _blocks(layer, kin)
    count = math.factorial(len(blocks))
    for block in blocks:
        if loose(kin(block[0])):
            count *= math.factorial(len(block))
    return count


def _blocks(layer: list[Hashable], kin: Callable[[Hashable], Hashable]) -> list[list[Hashable]]:
    blocks: dict[Hashable, list[Hashable]] = {}
    for node in layer:
        blocks.setdefault(kin(node), []).append(node)
    return list(blocks.values())


def _order(
    layout: FlowLayout,
    kin: Callable[[Hashable], Hashable],
    loose: Callable[[Hashable], bool],
    limit: int,
) -> None:
    """Reorder each layer's blocks (in place) to minimise crossings. Pieces only join adjacent
    layers, so the best order of layer i given layer i-1 is found layer by layer (dynamic
    programming over every order of each layer) when there are few; else the barycentre rule,
    swept left and right a few times, then each layer in turn takes the best of its orders
    beside its two neighbours until none improves (good, not always the fewest)."""
    if not layout.layers:
        return
    touched = {node for piece in layout.segments() for node in piece}
    idle = []  # blocks no edge touches: their place changes nothing, so they go last, unsearched
    for i, layer in enumerate(layout.layers):
        blocks = _blocks(layer, kin)
        idle.append(_flat([b for b in blocks if not touched & set(b)]))
        layout.layers[i] = _flat([b for b in blocks if touched & set(b)])
    _order_touched(layout, kin, loose, limit)
    for layer, rest in zip(layout.layers, idle, strict=True):
        layer.extend(rest)


def _order_touched(
    layout: FlowLayout,
    kin: Callable[[Hashable], Hashable],
    loose: Callable[[Hashable], bool],
    limit: int,
) -> None:
    """`_order` for the blocks that edges touch: the search itself."""
    counts = [_how_many_orders(layer, kin, loose) for layer in layout.layers]
    neighbours = [a * b for a, b in itertools.pairwise(counts)]
    between = _pieces_between(layout)
    if max([*counts, *neighbours]) <= limit:
        choices = [_orders(layer, kin, loose) for layer in layout.layers]
        # best[j]: the fewest crossings of layers 0..i with layer i in its j-th order
        best = np.zeros(len(choices[0]), dtype=np.int64)
        came_from = []
        for i in range(1, len(choices)):
            total = best[:, None] + _crossing_matrix(choices[i - 1], choices[i], between[i - 1])
            came_from.append(total.argmin(axis=0))  # the first of equals: the flow's own order
            best = total.min(axis=0)
        picks = [int(best.argmin())]
        for step in reversed(came_from):
            picks.append(int(step[picks[-1]]))
        layout.layers[:] = [choices[i][k] for i, k in enumerate(reversed(picks))]
        return
    for sweep in range(8):
        rightwards = sweep % 2 == 0
        last = len(layout.layers) - 1
        indices = range(1, last + 1) if rightwards else range(last - 1, -1, -1)
        for i in indices:
            beside = layout.layers[i - 1] if rightwards else layout.layers[i + 1]
            pieces = between[i - 1] if rightwards else between[i]
            layout.layers[i] = _flat(
                sorted(_blocks(layout.layers[i], kin), key=lambda b: _barycentre(b, beside, pieces))
            )
    for _ in range(6):  # then each layer takes its best order beside its two neighbours, in turn
        moved = False
        for i, layer in enumerate(layout.layers):
            if counts[i] > LOCAL_LIMIT:
                continue
            orders = _orders(layer, kin, loose)

            def beside_both(order: list[Hashable], i: int = i) -> int:
                left = _cost(layout.layers[i - 1], order, between[i - 1]) if i else 0
                right = _cost(order, layout.layers[i + 1], between[i]) if i < len(between) else 0
                return left + right

            chosen = min(orders, key=beside_both)
            if beside_both(chosen) < beside_both(layout.layers[i]):
                layout.layers[i], moved = chosen, True
        if not moved:
            return


def _crossing_matrix(
    left: Sequence[Sequence[Hashable]],
    right: Sequence[Sequence[Hashable]],
    pieces: Sequence[tuple[Hashable, Hashable]],
) -> npt.NDArray[np.int64]:
    """crossings[a, b]: how many pairs of pieces cross with the left layer in order `left[a]`
    and the right one in `right[b]`. Two pieces cross when their ends come in opposite orders:
    with +1 or -1 for which comes first at each end, that is where the product is -1, so the
    count is (pairs - the sum of products) / 2, one matrix product for all orders at once."""
    pairs = [(p, q) for p, q in itertools.combinations(pieces, 2) if p[0] != q[0] and p[1] != q[1]]

    def firsts(orders: Sequence[Sequence[Hashable]], end: int) -> npt.NDArray[np.int64]:
        rows = []
        for order in orders:
            place = {node: k for k, node in enumerate(order)}
            rows.append([1 if place[p[end]] < place[q[end]] else -1 for p, q in pairs])
        return np.array(rows, dtype=np.int64).reshape(len(orders), len(pairs))

    return (len(pairs) - firsts(left, 0) @ firsts(right, 1).T) // 2


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
