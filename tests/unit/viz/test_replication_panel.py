"""Lesson 16's broker panel, on a stand-in cluster (no Kafka here): its buttons, refusals and
counters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from eda_lib.kafka import PartitionReplicas
from eda_lib.labs.replication import ClusterStateError, Written
from eda_lib.viz import replication_panel
from eda_lib.viz.replication_panel import BrokerPanel
from tests.unit.viz.replicas import AFTER_NODE_1_DIED


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
    assert panel.last == (
        "the receipts group read 6 records: 5 acknowledged, "
        "1 never acknowledged (a send that timed out, yet landed)"
    )
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


async def test_the_snapshot_shows_the_cluster_with_the_counters(panel: BrokerPanel) -> None:
    await panel.send()
    await panel.read()
    figure = await panel.snapshot()
    [note] = [t.get_text() for t in figure.texts]
    assert note.startswith("acknowledged 5   read 5 of them (and 1 never acknowledged)   nodes up")
    assert "last action: the receipts group read 6 records: 5 acknowledged" in note
    assert "p0\nleader 2" in [t.get_text() for t in figure.axes[0].texts]
