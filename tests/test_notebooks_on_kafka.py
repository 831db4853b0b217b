"""The event-sourcing and CQRS lessons run on real Kafka too: each is executed with
EDA_BROKER=kafka against the test session's broker. (Their outputs are compared only on the
in-memory broker, by nbval; here every cell must run and every assertion in it hold.)"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.kafka
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize(
    "name",
    [
        "05_event_sourcing_cqrs_ideas.ipynb",
        "09_event_sourcing_in_practice.ipynb",
        "10_cqrs_in_practice.ipynb",
    ],
)
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
