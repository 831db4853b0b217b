"""KafkaBroker on a real Apache Kafka broker: the same contract as InMemoryBroker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaProducer

from eda_lib.kafka import KafkaBroker
from tests.contract.broker import BrokerContract

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


async def test_describe_learns_of_many_topics_in_one_metadata_request(
    kafka_bootstrap: str,
) -> None:
    # A long-lived local broker gathers hundreds of topics. aiokafka, asked for the offsets of
    # topics it does not know, learns of them one per metadata request, a tenth of a second
    # apart: at 600 topics, describe() ran out of time on every try.
    prefix = f"many-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i}" for i in range(20)]
    broker = await KafkaBroker.connect(kafka_bootstrap)
    try:
        for name in names:
            await broker.create_topic(name)
        updates = 0
        real_update = AIOKafkaClient._metadata_update

        async def counted(client: AIOKafkaClient, *args: object) -> bool:
            nonlocal updates
            updates += 1
            return await real_update(client, *args)  # type: ignore[no-any-return]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(AIOKafkaClient, "_metadata_update", counted)
            state = await broker.describe(names)
        assert {p.topic for p in state.partitions} >= set(names)
        # Every client's requests count here (the admin's too): one per topic would be 20.
        assert updates <= 5, f"{updates} metadata requests for {len(names)} topics"
    finally:
        for name in names:
            await broker.delete_topic(name)
        await broker.close()
