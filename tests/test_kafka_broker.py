"""KafkaBroker on a real Apache Kafka broker: the same contract as InMemoryBroker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eda_lib.brokers.kafka import KafkaBroker
from tests.contract import BrokerContract

pytestmark = pytest.mark.kafka


class TestKafkaBroker(BrokerContract):
    @pytest.fixture
    async def broker(self, kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
        broker = await KafkaBroker.connect(kafka_bootstrap)
        yield broker
        await broker.close()
