"""Local cluster nodes whose notebook died are swept, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_nodes_of_a_notebook_that_died_are_swept_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json
    import subprocess

    from eda_lib.kafka_local import cluster

    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    bystander = subprocess.Popen(["sleep", "30"])  # not a Kafka node: must be left alone
    orphan = subprocess.Popen(["sleep", "30"])
    try:
        owners = cluster._owners_dir()
        dead, alive = tmp_path / "dead-kernel", tmp_path / "live-kernel"
        for data_dir, pids in ((dead, [orphan.pid, bystander.pid]), (alive, [bystander.pid])):
            data_dir.mkdir()
            nodes = [{"id": i, "pid": pid} for i, pid in enumerate(pids, 1)]
            (data_dir / "cluster.json").write_text(json.dumps({"nodes": nodes}))
        (owners / "999999999.json").write_text(json.dumps({"data_dir": str(dead)}))
        (owners / f"{os.getpid()}.json").write_text(json.dumps({"data_dir": str(alive)}))
        monkeypatch.setattr(cluster, "_is_kafka", lambda pid: pid == orphan.pid)
        assert cluster.sweep_orphans() == [orphan.pid]
        assert orphan.wait(5) == -9 and bystander.poll() is None
        assert not dead.exists() and alive.exists()
        assert sorted(p.name for p in owners.iterdir()) == [f"{os.getpid()}.json"]
    finally:
        bystander.kill()
        orphan.kill()
