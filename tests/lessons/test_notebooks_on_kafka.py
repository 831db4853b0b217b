"""Every lesson runs on real Kafka too: each is executed with EDA_BROKER=kafka against the test
session's broker, one after another, as a learner would run them (`make test-kafka-lessons`).
Outputs are compared only on the in-memory broker, by nbval; here every cell must run and every
assertion in it hold. Each lesson asks `open_broker(fresh=[...])` to clear the topics it owns,
so lessons sharing a topic name, or a lesson run twice, do not see each other's records."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.kafka, pytest.mark.kafka_lessons]
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# Lesson 16 runs on a cluster of its own whatever EDA_BROKER says, and `make test` runs it already.
CLUSTER_ONLY = {"16_replication_and_failover.ipynb"}
LESSONS = sorted(
    path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if path.name not in CLUSTER_ONLY
)


@pytest.mark.parametrize("name", LESSONS)
def test_the_lesson_runs_on_kafka(
    name: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDA_BROKER", "kafka")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=240, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(
        env=dict(os.environ)
    )
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert f"Using Kafka at {kafka_bootstrap}" in printed
