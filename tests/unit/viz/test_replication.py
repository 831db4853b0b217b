"""Lesson 16's pictures (no Kafka here): the roles drawn for each copy, and the trials chart."""

from __future__ import annotations

from eda_lib.labs.replication import Trial
from eda_lib.viz.replication import cluster_graph, draw_cluster, plot_trials
from tests.unit.viz.replicas import AFTER_NODE_1_DIED


def test_each_copy_is_drawn_with_its_role() -> None:
    graph = cluster_graph(AFTER_NODE_1_DIED, [1, 2, 3])
    roles = {(a, b): role for a, b, role in graph.edges(data="role")}
    assert roles[("pay[0]", "node 2")] == "leader"
    assert roles[("pay[0]", "node 3")] == "in sync"
    assert roles[("pay[0]", "node 1")] == "behind"
    assert sum(1 for role in roles.values() if role == "leader") == 3
    figure = draw_cluster(AFTER_NODE_1_DIED, [1, 2, 3], up=[2, 3], controller=2, title="t")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert "node 1\ndown" in texts and "p0\nleader 2" in texts and "active controller" in texts


def test_the_trials_chart_names_each_loss_and_each_record_stored_twice() -> None:
    figure = plot_trials([Trial("all", 2000, 2000, 2000, 15), Trial(0, 2000, 1500, 1461, 0)])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["lost 0\nof 2000 told", "lost 39\nof 1500 told", "twice 15", "twice 0"]
