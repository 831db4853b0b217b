"""A fresh in-memory broker for each messaging test."""

from __future__ import annotations

import pytest

from eda_lib import InMemoryBroker


@pytest.fixture
async def broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=3)
    return broker
