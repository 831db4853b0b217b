"""Topics on a real Kafka broker: the cluster's default replication factor, too many replicas
refused with both numbers, and configs set at creation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from eda_lib.brokers.base import BrokerError, Retention
from eda_lib.compaction import kafka_settings
from eda_lib.kafka import KafkaBroker


@pytest.fixture
async def plain_broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    broker = await KafkaBroker.connect(kafka_bootstrap)
    yield broker
    await broker.close()


@pytest.mark.kafka
async def test_topics_get_the_cluster_default_replication_factor(
    plain_broker: KafkaBroker,
) -> None:
    assert await plain_broker.default_replication_factor() == 1  # the single node's default
    topic = f"replicated-{uuid.uuid4().hex[:8]}"
    await plain_broker.create_topic(topic, partitions=2)
    admin = await plain_broker.admin()
    [described] = await admin.describe_topics([topic])
    assert [len(p["replicas"]) for p in described["partitions"]] == [1, 1]


@pytest.mark.kafka
async def test_more_replicas_than_brokers_names_both_numbers(plain_broker: KafkaBroker) -> None:
    topic = f"too-many-replicas-{uuid.uuid4().hex[:8]}"
    with pytest.raises(
        BrokerError,
        match=rf"topic '{topic}' needs 3 replicas, but the cluster has 1 broker\(s\) running\. "
        "Fix: pass replication_factor=1 or less",
    ):
        await plain_broker.create_topic(topic, replication_factor=3)
    assert topic not in await plain_broker.topics()
    with pytest.raises(ValueError, match="replication factor of at least 1, not 0"):
        await plain_broker.create_topic(topic, replication_factor=0)


@pytest.mark.kafka
async def test_topic_configs_are_set_at_creation(plain_broker: KafkaBroker) -> None:
    topic = f"configured-{uuid.uuid4().hex[:8]}"
    await plain_broker.create_topic(
        topic,
        replication_factor=1,
        retention=Retention(max_age=timedelta(hours=1)),
        configs={"min.insync.replicas": "1", "cleanup.policy": "compact"},
    )
    admin = await plain_broker.admin()
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(code, _, _, _, entries)] = response.resources
    found = {entry[0]: entry[1] for entry in entries}
    assert code == 0
    assert found["cleanup.policy"] == "compact" and found["retention.ms"] == "3600000"
    with pytest.raises(ValueError, match=r"retention says 3600000 ms and configs"):
        await plain_broker.create_topic(
            f"{topic}-2",
            retention=Retention(max_age=timedelta(hours=1)),
            configs={"retention.ms": "5"},
        )


@pytest.mark.kafka
async def test_compaction_settings_kafka_takes_and_one_it_refuses(
    plain_broker: KafkaBroker,
) -> None:
    # Lesson 07: a compacted topic's segments close by time here, because Kafka 4 refuses a
    # segment.bytes under 1 MiB; the settings kafka_settings gives are all accepted.
    topic = f"compacted-{uuid.uuid4().hex[:8]}"
    await plain_broker.create_topic(topic, retention=Retention(compact=True))
    admin = await plain_broker.admin()
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(_, _, _, _, entries)] = response.resources
    found = {entry[0]: entry[1] for entry in entries}
    assert {name: found[name] for name in kafka_settings(timedelta(days=1))} == kafka_settings(
        timedelta(days=1)
    )
    with pytest.raises(BrokerError, match=r"segment\.bytes"):
        await plain_broker.create_topic(f"{topic}-small", configs={"segment.bytes": "1048575"})
    await plain_broker.create_topic(f"{topic}-1mib", configs={"segment.bytes": "1048576"})
    for name in (topic, f"{topic}-1mib"):
        await plain_broker.delete_topic(name)
