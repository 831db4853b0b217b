"""The pictures are built from live broker state and the trace, so they must say what happened."""

from __future__ import annotations

from eda_lib import Consumer, InMemoryBroker, PaymentSuccessful, Producer
from eda_lib.viz import assignment_table, draw_timeline, draw_topology, topology
from tests.unit.viz.scenes import _scene


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
        await broker.join("g", ["t"], member=name, start="earliest")
    table = assignment_table(await broker.describe(), "g")
    assert "a            t[0] (lag 0)" in table
    assert "b            idle" in table


def test_flow_layout_runs_left_to_right_and_turns_one_edge_of_a_cycle() -> None:
    import networkx as nx

    from eda_lib.viz.flow import flow_layout

    loop = [("orders-svc", "orders"), ("orders", "pay-svc"), ("pay-svc", "payments")]
    graph = nx.DiGraph([*loop, ("payments", "orders-svc"), ("payments", "ship-svc")])
    graph.add_edge("ship-svc", "shipments")
    graph.add_node("lonely")
    layout = flow_layout(graph, kin=lambda n: n, first=["orders-svc"], alone=lambda n: 1)
    layer = {node: layout.layer_of(node) for node in graph}
    assert [layer[n] for n in ("orders-svc", "orders", "pay-svc", "payments")] == [0, 1, 2, 3]
    assert layer["ship-svc"] == 4 and layer["shipments"] == 5 and layer["lonely"] == 1
    back = layout.paths[("payments", "orders-svc")]  # the edge that closes the loop
    assert back[0] == "payments" and back[-1] == "orders-svc" and len(back) == 4  # two bends
    assert layout.crossings() == 0


def test_flow_layout_keeps_blocks_together_and_finds_the_order_without_crossings() -> None:
    import networkx as nx

    from eda_lib.viz.flow import flow_layout

    # a0 feeds y, a1 feeds x: drawn in the given order, the two edges would cross
    graph = nx.DiGraph([("a0", "y"), ("a1", "x"), ("p", "a0"), ("p", "a1")])
    layout = flow_layout(graph, kin=lambda n: "a" if str(n).startswith("a") else n, first=["x"])
    assert layout.layers[1] == ["a0", "a1"]  # a block keeps its own order
    assert layout.layers[2] == ["y", "x"] and layout.crossings() == 0


async def test_a_consumer_that_publishes_is_one_node_between_its_topics() -> None:
    from eda_lib import Consumer, Producer
    from eda_lib.viz.graphs import flow_of

    broker = InMemoryBroker()
    for topic in ("payments", "alerts"):
        await broker.create_topic(topic, partitions=1)
    await Producer(broker, "payment-service").send(
        "payments", PaymentSuccessful(payment_id="p", order_id="o", amount=1, currency="usd")
    )
    alerts = Producer(broker, "fraud-watch")

    async def watch(payment: PaymentSuccessful) -> None:
        await alerts.send("alerts", payment)

    async with Consumer(broker, "fraud-watch", "payments", watch, start="earliest") as consumer:
        await consumer.run()
        graph, layout = flow_of(await broker.describe(), broker.trace)
    assert "producer:fraud-watch" not in graph  # the same service: one node
    member = next(n for n in graph if n.startswith("member:fraud-watch/"))
    assert graph.has_edge("partition:payments[0]", member)
    assert graph.has_edge(member, "partition:alerts[0]")
    names = ["producer:payment-service", "partition:payments[0]", member, "partition:alerts[0]"]
    assert [layout.layer_of(n) for n in names] == [0, 1, 2, 3]


async def test_members_share_a_timeline_lane_only_when_they_took_turns() -> None:
    async def lanes_after(restart: bool) -> list[str]:
        broker = InMemoryBroker(seed=1)
        await broker.create_topic("payments", partitions=2)
        producer = Producer(broker, "payment-service")

        async def pay(first: int) -> None:
            await producer.send_all(
                "payments",
                [
                    PaymentSuccessful(
                        payment_id=f"p{n}", order_id=f"o{n}", amount=1, currency="usd"
                    )
                    for n in range(first, first + 4)
                ],
            )

        def member(name: str) -> Consumer:
            return Consumer(
                broker, "shipping", "payments", lambda e: None, name=name, start="earliest"
            )

        await pay(0)
        first, second = member("s-1"), member("s-2")
        if restart:  # s-1 reads and leaves; later s-2 joins, under a new name, and reads the rest
            await first.start()
            await first.run()
            await first.stop()
            await pay(4)
            await second.start()
            await second.run()
        else:  # both in the group at once, though s-1 finishes before s-2 begins
            await first.start()
            await second.start()
            await first.run()
            await second.run()
        timeline = draw_timeline(broker.trace)
        return [
            label.get_text()
            for label in timeline.axes[0].get_yticklabels()
            if "/" in label.get_text()
        ]

    assert await lanes_after(restart=False) == ["shipping/s-1", "shipping/s-2"]
    assert await lanes_after(restart=True) == ["shipping/s-1, s-2"]


def test_flow_layout_of_a_crowded_broker_leaves_idle_topics_aside_and_still_finishes() -> None:
    import networkx as nx

    from eda_lib.viz.flow import flow_layout

    # a broker left with 90 dead-letter topics nobody reads, and 12 topics read by 3 groups:
    # listing every order of 100 blocks could never finish; the idle ones are not searched,
    # and 12 busy blocks (12! orders) are ordered by the heuristic
    graph = nx.DiGraph()
    for k in range(12):
        graph.add_edge("producer", f"topic-{k:02}")
        graph.add_edge(f"topic-{k:02}", f"group-{k % 3}")
    graph.add_nodes_from(f"idle-{k:02}" for k in range(90))
    layout = flow_layout(graph, kin=lambda node: node, alone=lambda node: 1)
    assert layout.layers[1][-90:] == [f"idle-{k:02}" for k in range(90)]  # after the busy ones
    assert layout.crossings() == 0
