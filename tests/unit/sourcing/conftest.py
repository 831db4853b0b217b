"""An event store of each kind (in memory, SQLite) for the repository and outbox tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eda_lib.store import EventStore, InMemoryEventStore, SQLiteEventStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made: EventStore = (
        InMemoryEventStore() if request.param == "memory" else SQLiteEventStore(tmp_path / "e.db")
    )
    with made:
        yield made
