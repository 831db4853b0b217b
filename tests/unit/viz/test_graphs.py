"""The pictures are built from live broker state and the trace, so they must say what happened."""

from __future__ import annotations

from eda_lib import InMemoryBroker
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
