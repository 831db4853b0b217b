"""Lesson 16's pictures and broker panel, on a stand-in cluster (no Kafka here): the roles drawn
for each copy, the trials chart, and the panel's buttons, refusals and counters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from eda_lib.kafka import PartitionReplicas
from eda_lib.labs.replication import ClusterStateError, Trial, Written
from eda_lib.viz import replication_panel
from eda_lib.viz.replication import cluster_graph, draw_cluster, plot_trials
from eda_lib.viz.replication_panel import BrokerPanel

AFTER_NODE_1_DIED = [
    PartitionReplicas("pay", 0, 2, (1, 2, 3), (2, 3)),
    PartitionReplicas("pay", 1, 2, (2, 3, 1), (2, 3)),
    PartitionReplicas("pay", 2, 3, (3, 1, 2), (3, 2)),
]


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


def test_the_trials_chart_names_each_loss() -> None:
    figure = plot_trials([Trial(1, 2000, 2000, 1996, 0), Trial(0, 2000, 1500, 1461, 0)])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["lost 4 of 2000 told", "lost 39 of 1500 told"]


class _Cluster:
    node_ids = (1, 2, 3)
    majority = 2
    bootstrap = "127.0.0.1:1"

    def __init__(self) -> None:
        self.running = {1, 2, 3}

    def up(self) -> list[int]:
        return sorted(self.running)


class _Lab:
    """What the panel asks of a ReplicationLab, with the same refusals."""

    topic = "pay"

    def __init__(self) -> None:
        self.cluster = _Cluster()
        self.written = Written()
        self.consumed: list[tuple[str, int]] = []

    async def kill(self, node: int) -> None:
        if node not in self.cluster.running:
            raise ClusterStateError(f"node {node} is already down. Fix: restart it first")
        self.cluster.running.discard(node)

    async def restart(self, node: int) -> float:
        self.cluster.running.add(node)
        return 1.0

    async def write(self, count: int) -> Written:
        for seq in range(1, count + 1):
            self.written.acknowledged.append(("ann", seq, 0, seq - 1))
        return self.written

    async def consume(self, timeout: float) -> int:
        self.consumed = [(c, s) for c, s, _, _ in self.written.acknowledged] + [("probe", 1)]
        return len(self.consumed)

    async def partitions(self) -> list[PartitionReplicas]:
        return AFTER_NODE_1_DIED


@pytest.fixture
def panel(monkeypatch: pytest.MonkeyPatch) -> BrokerPanel:
    class _Quorum:
        leader = 2

    async def quorum(bootstrap: str) -> Any:
        return _Quorum()

    monkeypatch.setattr(replication_panel, "describe_quorum_async", quorum)
    return BrokerPanel(_Lab(), batch=5)  # type: ignore[arg-type]


async def test_buttons_call_the_same_methods_and_the_counters_follow(panel: BrokerPanel) -> None:
    await panel.send()
    await panel.read()
    assert panel.counts() == (5, 5, 1)
    assert "read</b> 5 of them (and 1 never acknowledged)" in panel.counters.value
    assert bytes(panel.picture.value).startswith(b"\x89PNG")
    await panel.kill(1)
    assert panel.lab.cluster.up() == [2, 3] and "killed node 1" in panel.last


async def test_a_click_that_cannot_work_says_why_and_frees_the_buttons(panel: BrokerPanel) -> None:
    await panel.kill(1)
    await panel.kill(2)
    panel._act(panel.send)  # as a click does
    await asyncio.gather(*panel.pending)
    assert "no controller quorum" in panel.last and "Restart nodes until 2 are up" in panel.last
    assert not any(button.disabled for button in panel.buttons)
    panel._act(lambda: panel.kill(1))
    await asyncio.gather(*panel.pending)
    assert "node 1 is already down" in panel.last
