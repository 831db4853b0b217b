"""What the Kafka tests share: a `KafkaBroker` connected to the session's broker, closed after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eda_lib.kafka import KafkaBroker


@pytest.fixture
async def broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    broker = await KafkaBroker.connect(kafka_bootstrap)
    yield broker
    await broker.close()
