"""KafkaBroker on a real Apache Kafka broker: the same contract as InMemoryBroker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer

from eda_lib.brokers.kafka import KafkaBroker
from tests.contract import BrokerContract

pytestmark = pytest.mark.kafka


class TestKafkaBroker(BrokerContract):
    @pytest.fixture
    async def broker(self, kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
        self.bootstrap = kafka_bootstrap  # for the placement oracle below
        broker = await KafkaBroker.connect(kafka_bootstrap)
        yield broker
        await broker.close()

    async def expected_partitions(
        self, topic: str, keys: Sequence[str], partitions: int
    ) -> dict[str, int]:
        # KafkaBroker picks the partition itself; here a plain Kafka client, given no
        # partition, lets the cluster's view of the topic and the client's partitioner decide.
        client = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await client.start()
        try:
            assert await client.partitions_for(topic) == set(range(partitions))
            placed = {}
            for key in keys:
                metadata = await client.send_and_wait(topic, b"placement probe", key=key.encode())
                placed[key] = metadata.partition
        finally:
            await client.stop()
        return placed
