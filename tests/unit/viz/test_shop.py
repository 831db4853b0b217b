"""The shop's pictures (lesson 15): the flow graph and the orders."""

from __future__ import annotations

import itertools

from eda_lib.shop import FLOW, ShopOrders
from eda_lib.viz.flow import count_crossings
from eda_lib.viz.shop import draw_orders, draw_shop, shop_graph, shop_layout


def test_the_flow_graph_has_an_edge_for_every_read_and_write() -> None:
    graph = shop_graph()
    for service, (reads, writes) in FLOW.items():
        assert all(graph.has_edge(topic, service) for topic in reads)
        assert all(graph.has_edge(service, topic) for topic in writes)
    assert draw_shop(down={"shipping"}, lag={"shipping": 3}).axes
    parked = draw_shop(parked={"shop-payments": 4})
    assert "shop-payments\n.dead-letter\n4 parked" in [t.get_text() for t in parked.axes[0].texts]
    assert draw_orders(ShopOrders()).axes


def _fewest(layers: list[list[object]], pieces: list[tuple[object, object]]) -> int:
    """The fewest crossings the layers allow, found by trying every order of every layer (only
    neighbouring layers' orders interact, so layer by layer)."""
    best = {order: 0 for order in itertools.permutations(layers[0])}
    for before, now in itertools.pairwise(range(len(layers))):
        between = [p for p in pieces if p[0] in layers[before]]
        best = {
            order: min(
                cost + count_crossings([list(last), list(order)], between)
                for last, cost in best.items()
            )
            for order in itertools.permutations(layers[now])
        }
    return min(best.values())


def test_the_shop_diagram_crosses_no_more_than_its_layers_must() -> None:
    for parked in ({}, {"shop-payments": 4}):
        graph = shop_graph()
        for topic in parked:
            graph.add_node(f"{topic}.dead-letter", kind="dead-letter", count=parked[topic])
            graph.add_edge(topic, f"{topic}.dead-letter")
        layout = shop_layout(graph)
        assert layout.crossings() == _fewest(layout.layers, layout.segments())
    assert shop_layout(shop_graph()).crossings() == 0
    widths = [draw_shop(parked=p).get_figwidth() for p in ({}, {"shop-payments": 4})]
    assert max(widths) <= 10.0  # readable at notebook width without shrinking
