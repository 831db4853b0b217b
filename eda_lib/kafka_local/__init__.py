"""A single-node Apache Kafka broker for the lessons and tests, built from Kafka's own jars on
Maven Central: no Docker, no download site. See `LocalKafka` and `python -m eda_lib.kafka_local`."""

from eda_lib.kafka_local.broker import (
    DEFAULT_KAFKA_VERSION,
    KafkaSetupError,
    LocalKafka,
    bootstrap_from_env,
    running_broker,
)

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "KafkaSetupError",
    "LocalKafka",
    "bootstrap_from_env",
    "running_broker",
]
