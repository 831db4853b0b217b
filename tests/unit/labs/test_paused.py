"""Lesson 16's paused leader without Kafka: freezing and thawing a process, reading what a woken
node's log says it did, Kafka's leader-epoch file, the Metadata v7 answer, and the timeline
picture. (The run on a real cluster is in tests/kafka/test_paused_leader.py.)"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from eda_lib.kafka_local import KafkaSetupError, LocalCluster
from eda_lib.kafka_local.cluster import pause, resume
from eda_lib.labs.epochs import PartitionEpoch, _partitions
from eda_lib.labs.paused import (
    PausedLeader,
    Rejoin,
    Sample,
    StaleWrite,
    _rejoin,
    leader_epoch_file,
)
from eda_lib.labs.replication import check_log
from eda_lib.viz.paused import plot_pause


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _settled(pid: int, stopped: bool) -> bool:
    for _ in range(40):
        if (_state(pid) == "T") == stopped:
            return True
        time.sleep(0.05)
    return False


def test_pause_freezes_a_process_and_resume_lets_it_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = LocalCluster(nodes=3)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        monkeypatch.setattr(cluster, "pid", lambda node: sleeper.pid if node == 2 else None)
        pause(cluster, 2)
        assert _settled(sleeper.pid, True) and cluster.paused == {2}
        resume(cluster, 2)
        assert _settled(sleeper.pid, False) and cluster.paused == set()
        resume(cluster, 2)  # a node that is not paused is left alone
        with pytest.raises(KafkaSetupError, match=r"node 1 is not running.*cluster\.restart"):
            pause(cluster, 1)
    finally:
        sleeper.kill()
        sleeper.wait()


_WOKEN_LOG = "\n".join(
    (
        "[t] INFO [Broker id=1] Follower pay-0 starts at leader epoch 1 from offset 31 with "
        "partition epoch 1 and high watermark 29. Current leader is 2. Previous leader Some(1) "
        "and previous leader epoch was 0. (state.change.logger)",
        "[t] INFO [ReplicaFetcher replicaId=1, leaderId=2, fetcherId=0] Truncating partition "
        "pay-0 with TruncationState(offset=29, completed=true) due to leader epoch and offset "
        "EpochEndOffset(errorCode=0, partition=0, leaderEpoch=0, endOffset=29) (kafka.server."
        "ReplicaFetcherThread)",
        "[t] INFO [ReplicaFetcher replicaId=1, leaderId=3, fetcherId=0] Truncating partition "
        "pay-2 with TruncationState(offset=0, completed=true) due to local high watermark 0 "
        "(kafka.server.ReplicaFetcherThread)",
    )
)


def _lab(tmp_path: Path, log: str) -> Any:
    node = SimpleNamespace(log_file=tmp_path / "kafka.log", data_dir=tmp_path)
    node.log_file.write_text(log)
    return SimpleNamespace(topic="pay", cluster=SimpleNamespace(node=lambda n: node))


def test_the_woken_nodes_log_says_it_followed_and_what_it_cut(tmp_path: Path) -> None:
    rejoin = _rejoin(_lab(tmp_path, _WOKEN_LOG), 1, 0, 0)
    assert rejoin == Rejoin(epoch=1, previous_epoch=0, log_end=31, truncated_to=29)
    assert rejoin.cut == 2
    # With nothing beyond the new epoch's start, it follows without truncating.
    assert _rejoin(_lab(tmp_path, _WOKEN_LOG.splitlines()[0]), 1, 0, 0) == Rejoin(1, 0, 31, None)
    assert _rejoin(_lab(tmp_path, ""), 1, 0, 0) is None


def test_the_leader_epoch_file_is_read_as_kafka_writes_it(tmp_path: Path) -> None:
    lab = _lab(tmp_path, "")
    (tmp_path / "data" / "pay-0").mkdir(parents=True)
    (tmp_path / "data" / "pay-0" / "leader-epoch-checkpoint").write_text("0\n2\n0 0\n1 29\n")
    assert leader_epoch_file(lab, 2, 0) == {0: 0, 1: 29}


def test_a_metadata_v7_answer_gives_each_partitions_epoch() -> None:
    answer = {
        "topics": [
            {
                "name": "pay",
                "error_code": 0,
                "partitions": [
                    {"partition_index": 1, "leader_id": -1, "leader_epoch": 4, "isr_nodes": []},
                    {"partition_index": 0, "leader_id": 2, "leader_epoch": 1, "isr_nodes": [2, 3]},
                ],
            }
        ]
    }
    assert _partitions(answer, "pay") == [
        PartitionEpoch(0, 2, 1, (2, 3)),
        PartitionEpoch(1, None, 4, ()),
    ]


def test_the_timeline_marks_each_event_and_the_acks_1_write() -> None:
    samples = (
        Sample(0.0, 1, 0, (1, 2, 3), 0),
        Sample(2.0, 1, 0, (1, 2, 3), 100),
        Sample(5.0, 2, 1, (2, 3), 100),
        Sample(7.0, 2, 1, (2, 3, 1), 150),
        Sample(8.0, 2, 1, (2, 3, 1), 200),
    )
    run = PausedLeader(
        node=1,
        partition=0,
        controller=3,
        before=PartitionEpoch(0, 1, 0, (1, 2, 3)),
        elected=PartitionEpoch(0, 2, 1, (2, 3)),
        rejoined=PartitionEpoch(0, 2, 1, (2, 3, 1)),
        paused_at=2.1,
        elected_at=5.0,
        resumed_at=6.5,
        rejoined_at=7.0,
        samples=samples,
        acks=(1.0, 6.0, 7.5),
        rejoin=Rejoin(1, 0, 31, 29),
        stale=StaleWrite(30, "", 6.6, False),
        check=check_log([], []),
    )
    assert run.back_at == 6.0 and run.acknowledged_between(5.0, 6.5) == 1
    figure = plot_pause(run)
    lead, _, acked = figure.axes
    assert lead.get_title().startswith("partition 0's leader, node 1, paused")
    assert [t.get_text() for t in lead.texts] == [
        "leader epoch 0",
        "leader epoch 1",
        "SIGSTOP node 1",
        "node 1 fenced: node 2 leads",
        "SIGCONT node 1",
        "node 1 in sync again",
    ]
    assert [t.get_text() for t in acked.texts] == [
        "acks=1 payment: told stored at offset 30, then truncated"
    ]
