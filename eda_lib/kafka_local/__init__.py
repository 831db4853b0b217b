"""Local Apache Kafka for the lessons and tests, built from Kafka's own jars on Maven Central: no
Docker, no download site. `LocalKafka` is one node, `LocalCluster` several as one cluster; see
also `python -m eda_lib.kafka_local`."""

from eda_lib.kafka_local.broker import LocalKafka, running_broker
from eda_lib.kafka_local.cluster import LocalCluster
from eda_lib.kafka_local.tools import (
    DEFAULT_KAFKA_VERSION,
    KafkaSetupError,
    bootstrap_from_env,
)

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "KafkaSetupError",
    "LocalCluster",
    "LocalKafka",
    "bootstrap_from_env",
    "running_broker",
]
