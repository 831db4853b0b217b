"""The watchdog sweeps a notebook's local Kafka once its kernel is gone."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_watchdog_sweeps_once_its_kernel_is_gone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json
    import subprocess

    from eda_lib.kafka_local import cluster, watchdog

    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    kernel = subprocess.Popen(["sleep", "0.3"])
    (cluster._owners_dir() / f"{kernel.pid}.json").write_text(
        json.dumps({"data_dir": str(tmp_path / "gone")})
    )
    kernel.wait()  # reaped: a child of ours would otherwise linger as a zombie, still "alive"
    watchdog.main(kernel.pid, every=0.1)  # returns once the "kernel" is gone, and sweeps
    assert list(cluster._owners_dir().iterdir()) == []
