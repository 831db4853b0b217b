"""The flow pictures show the flow: each lesson's topology, as the lesson draws it, has no more
crossing edges than the fewest its layers allow (a topic's partitions and a group's members kept
together), and none at all on the chains the lesson's text follows.

Each lesson is run up to its last `draw_topology` cell on the in-memory broker, with
`draw_topology` wrapped to record the layout it drew. The fewest crossings are found here by
trying every order of every layer, independently of the library's own search."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

RECORD = """
import eda_lib.viz
from eda_lib.viz import graphs as _graphs

_flows = []
_draw = _graphs.draw_topology


def _recording(state, trace=None, *, title=""):
    graph, layout = _graphs.flow_of(state, trace)
    _flows.append(
        {
            "title": title,
            "layers": [[str(node) for node in layer] for layer in layout.layers],
            "paths": [[str(node) for node in path] for path in layout.paths.values()],
            "edges": [[str(a), str(b)] for a, b in layout.paths],
        }
    )
    return _draw(state, trace, title=title)


eda_lib.viz.draw_topology = _recording
"""

# For each lesson, the chains its text follows through a picture, as service and topic names.
CHAINS: dict[str, list[list[str]]] = {
    "00_start_here.ipynb": [["payment-service", "payments", "receipts"]],
    "01_what_is_eda.ipynb": [
        ["payment-service", "payments", "fraud-watch", "alerts"],
        ["payments", "shipping-desk", "shipments"],
    ],
    "02_benefits.ipynb": [["payment-service", "payments"]],  # then every partition to both groups
    "03_use_cases.ipynb": [
        ["order-service", "orders", "payment-service", "payments", "shipping-service", "shipments"],
        ["payments", "order-service", "orders"],  # the cancellation, drawn right to left
        ["shipping-service", "shipments", "notify-sms"],
    ],
    "04_eda_vs_rest.ipynb": [["checkout", "payments", "email"]],
    "06_events_and_handlers.ipynb": [
        ["payment-service", "payments", "fraud-watch", "alerts", "fraud-review", "orders"]
    ],
    "07_queues_brokers_streams.ipynb": [["payment-service", "payments"]],  # then a crossing
    "08_kafka_producers_consumers.ipynb": [["order-service", "orders"]],  # then a crossing
    "13_testing_event_driven_code.ipynb": [
        ["payment-service", "payments", "fraud-watch", "alerts"]
    ],
}


def _name(node: str) -> str:
    """`partition:payments[0]` -> payments; `member:fraud-watch/fw-1` -> fraud-watch."""
    kind, _, rest = node.partition(":")
    if kind == "partition":
        return rest.rsplit("[", 1)[0]
    return rest.split("/", 1)[0]


def _kin(node: str) -> str:
    if node.startswith("partition:"):
        return "topic " + _name(node)
    if node.startswith("member:"):
        return "group " + _name(node)
    return node


def _crossings(layers: list[list[str]], pieces: list[tuple[str, str]]) -> list[tuple[Any, Any]]:
    where = {node: (i, layer.index(node)) for i, layer in enumerate(layers) for node in layer}
    crossing = []
    for first, second in itertools.combinations(pieces, 2):
        (la, a0), (_, a1) = where[first[0]], where[first[1]]
        (lb, b0), (_, b1) = where[second[0]], where[second[1]]
        if la == lb and (a0 - b0) * (a1 - b1) < 0:
            crossing.append((first, second))
    return crossing


def _pieces(layers: list[list[str]], paths: list[list[str]]) -> list[tuple[str, str]]:
    layer = {node: i for i, nodes in enumerate(layers) for node in nodes}
    pieces = []
    for path in paths:
        for a, b in itertools.pairwise(path):
            assert abs(layer[a] - layer[b]) == 1, f"{a} -> {b} skips a layer"
            pieces.append((a, b) if layer[a] < layer[b] else (b, a))
    return pieces


def _orders(layer: list[str]) -> list[tuple[str, ...]]:
    """Every order of a layer that keeps each topic's partitions and each group's members next
    to each other, with a topic's partitions in their numbers' order (a group's members in any)."""
    blocks: dict[str, list[str]] = {}
    for node in layer:
        blocks.setdefault(_kin(node), []).append(node)
    insides = [
        list(itertools.permutations(nodes))
        if kin.startswith("group ")
        else [tuple(sorted(nodes, key=lambda n: int(n.rsplit("[", 1)[1][:-1])))]
        if kin.startswith("topic ")
        else [tuple(nodes)]
        for kin, nodes in blocks.items()
    ]
    return [
        tuple(node for inside in picked for node in inside)
        for arrangement in itertools.permutations(insides)
        for picked in itertools.product(*arrangement)
    ]


def _fewest(layers: list[list[str]], pieces: list[tuple[str, str]]) -> int:
    orders = [_orders(layer) for layer in layers]
    assert all(orders)
    # only adjacent layers' orders interact, so the fewest is found layer by layer
    best = {order: 0 for order in orders[0]}
    for i in range(1, len(layers)):
        between = [p for p in pieces if p[0] in layers[i - 1]]
        best = {
            order: min(
                cost + len(_crossings([list(before), list(order)], between))
                for before, cost in best.items()
            )
            for order in orders[i]
        }
    return min(best.values())


def _record(name: str) -> list[dict[str, Any]]:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    last = max(
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and "draw_topology(" in cell.source
    )
    notebook.cells = [
        nbformat.v4.new_code_cell(RECORD),
        *notebook.cells[: last + 1],
        nbformat.v4.new_code_cell("print(json.dumps(_flows))"),
    ]
    notebook.cells[-1].source = "import json\n" + notebook.cells[-1].source
    env = {key: value for key, value in os.environ.items() if key != "EDA_BROKER"}
    NotebookClient(notebook, timeout=240, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
        env=env
    )
    return json.loads(notebook.cells[-1].outputs[0]["text"])


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_flow_pictures_cross_as_little_as_their_layers_allow(name: str) -> None:
    flows = _record(name)
    assert flows, f"{name} drew no topology"
    for flow in flows:
        layers, paths = flow["layers"], flow["paths"]
        pieces = _pieces(layers, paths)
        crossing = _crossings(layers, pieces)
        assert len(crossing) == _fewest(layers, pieces), (flow["title"], crossing)
        chain_edges = {(a, b) for chain in CHAINS[name] for a, b in itertools.pairwise(chain)}
        on_chains = set()
        for (source, target), path in zip(flow["edges"], paths, strict=True):
            if (_name(source), _name(target)) in chain_edges:
                on_chains |= {tuple(sorted(p)) for p in itertools.pairwise(path)}
        bad = [pair for pair in crossing if {tuple(sorted(p)) for p in pair} & on_chains]
        assert not bad, f"{flow['title']}: an edge on a chain the text follows is crossed: {bad}"
    names = {_name(node) for flow in flows for layer in flow["layers"] for node in layer}
    for chain in CHAINS[name]:
        assert set(chain) <= names, f"{name}: the chain {chain} is not in any picture"
