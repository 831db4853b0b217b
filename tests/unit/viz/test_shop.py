"""The shop's pictures (lesson 15): the flow graph and the orders."""

from __future__ import annotations

from eda_lib.shop import FLOW, ShopOrders
from eda_lib.viz.shop import draw_orders, draw_shop, shop_graph


def test_the_flow_graph_has_an_edge_for_every_read_and_write() -> None:
    graph = shop_graph()
    for service, (reads, writes) in FLOW.items():
        assert all(graph.has_edge(topic, service) for topic in reads)
        assert all(graph.has_edge(service, topic) for topic in writes)
    assert draw_shop(down={"shipping"}, lag={"shipping": 3}).axes
    parked = draw_shop(parked={"shop-payments": 4})
    assert "shop-payments.dead-letter\n4 parked" in [t.get_text() for t in parked.axes[0].texts]
    assert draw_orders(ShopOrders()).axes
