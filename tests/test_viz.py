"""The pictures are built from live broker state and the trace, so they must say what happened."""

from __future__ import annotations

import asyncio

from eda_lib import Consumer, InMemoryBroker, Producer
from eda_lib.shop import FLOW, ShopOrders
from eda_lib.viz import assignment_table, draw_timeline, draw_topology, topology
from eda_lib.viz.shop import draw_orders, draw_shop, shop_graph
from tests.contract import payment


async def _scene() -> InMemoryBroker:
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=2)
    producer = Producer(broker, "payment-service")
    for i in range(6):
        await producer.send("payments", payment(i))
    await broker.produce("payments", b"oops", key=b"order-0")
    shipping = Consumer(broker, "shipping", "payments", lambda e: None, name="shipping-1")
    analytics = Consumer(broker, "analytics", "payments", lambda e: None, name="analytics-1")
    for consumer in (shipping, analytics):
        await consumer.start()
        await consumer.run()
    await analytics.stop()
    await producer.send("payments", payment(9))
    return broker


async def test_topology_shows_producers_partitions_members_and_lag() -> None:
    broker = await _scene()
    state = await broker.describe()
    graph = topology(state, broker.trace)
    kinds = {node: data["kind"] for node, data in graph.nodes(data=True)}
    assert kinds == {
        "producer:payment-service": "producer",
        "partition:payments[0]": "partition",
        "partition:payments[1]": "partition",
        "partition:payments.dead-letter[0]": "dead-letter",
        "member:shipping/shipping-1": "member",
        "group:analytics": "group-down",
    }
    sent = sum(
        int(graph.edges["producer:payment-service", f"partition:payments[{p}]"]["label"])
        for p in (0, 1)
    )
    assert sent == 7  # the raw b"oops" was not sent by the producer
    lags = {(u, v): d["label"] for u, v, d in graph.edges(data=True) if v.startswith("group:")}
    assert sorted(lags.values()) == ["lag 0", "lag 1"]  # one new payment waits for analytics
    assert all(graph.edges[edge]["style"] == "dashed" for edge in lags)
    # Each group dead-letters the bad record once: two copies, one edge from each group.
    assert graph.nodes["partition:payments.dead-letter[0]"]["label"].endswith("2 events")
    for origin in ("member:shipping/shipping-1", "group:analytics"):
        assert graph.edges[origin, "partition:payments.dead-letter[0]"]["label"] == "1 dead"


async def test_drawings_are_figures_with_one_lane_per_actor() -> None:
    broker = await _scene()
    figure = draw_topology(await broker.describe(), broker.trace, title="t")
    assert figure.axes[0].get_title() == "t"
    timeline = draw_timeline(broker.trace)
    lanes = [label.get_text() for label in timeline.axes[0].get_yticklabels()]
    # In the order events flow: producers, partitions, members, each as they first appear
    # (shipping ran before analytics; the dead letter was parked after both payment partitions).
    assert lanes == [
        "producer payment-service",
        "payments[0]",
        "payments[1]",
        "payments.dead-letter[0]",
        "shipping/shipping-1",
        "analytics/analytics-1",
    ]
    assert len(draw_timeline(broker.trace, last=5).axes[0].collections) >= 1


async def test_assignment_table_names_idle_members() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=1)
    for name in ("a", "b"):
        await broker.join("g", ["t"], member=name)
    table = assignment_table(await broker.describe(), "g")
    assert "a            t[0] (lag 0)" in table
    assert "b            idle" in table


async def test_the_topic_explorer_widget_refreshes_from_the_broker() -> None:
    from eda_lib.viz import TopicExplorerWidget

    broker = await _scene()
    widget = TopicExplorerWidget(broker, limit=2)
    await asyncio.gather(*widget.pending)
    assert list(widget.topic.options) == ["payments", "payments.dead-letter"]
    assert "TOPICS" in widget.output.value and "CONSUMER GROUPS" in widget.output.value
    widget.topic.value = "payments"
    widget.start.value = 1
    widget.refresh_button.click()
    await asyncio.gather(*widget.pending)
    shown = widget.output.value
    assert "MESSAGES IN payments" in shown
    offsets = [
        line.split()[1]
        for line in shown.split("MESSAGES IN payments")[1].splitlines()[2:]
        if line.strip() and not line.startswith("</pre>")
    ]
    assert offsets and set(offsets) <= {"1", "2"}  # from offset 1, at most 2 per partition


def test_the_time_travel_widget_shows_the_moment_its_slider_names() -> None:
    from eda_lib.cqrs import TimeTravel
    from eda_lib.domain import Order, OrderSummaries
    from eda_lib.labs import order_history
    from eda_lib.viz import TimeTravelWidget

    store = order_history(3)  # 1-3 placed; 4 approves o0, 5 cancels o1, 6 approves o2
    widget = TimeTravelWidget(TimeTravel(store, Order, OrderSummaries), position=4)
    assert (widget.slider.min, widget.slider.max, widget.slider.value) == (0, 6, 4)
    at_four = bytes(widget.picture.value)
    assert at_four.startswith(b"\x89PNG")
    assert widget.moment.read_model.statuses() == {
        "o0": "approved",
        "o1": "created",
        "o2": "created",
    }
    widget.slider.value = 5  # what dragging the slider does
    assert widget.moment.position == 5
    assert widget.moment.read_model.status("o1") == "cancelled"
    assert widget.moment.aggregates["o1"].status == "cancelled"
    assert bytes(widget.picture.value) != at_four


def test_the_flow_graph_has_an_edge_for_every_read_and_write() -> None:
    graph = shop_graph()
    for service, (reads, writes) in FLOW.items():
        assert all(graph.has_edge(topic, service) for topic in reads)
        assert all(graph.has_edge(service, topic) for topic in writes)
    assert draw_shop(down={"shipping"}, lag={"shipping": 3}).axes
    parked = draw_shop(parked={"shop-payments": 4})
    assert "shop-payments.dead-letter\n4 parked" in [t.get_text() for t in parked.axes[0].texts]
    assert draw_orders(ShopOrders()).axes
