"""Kafka's client side (lessons 08, 12 and 16): `KafkaBroker`, the `Broker` protocol on a real
Apache Kafka cluster via aiokafka, and what it is made of: topics through the admin client
(`topics`), group members (`members`), offsets and lag (`inspect`), TLS and SASL settings
(`security`), why a connection failed (`diagnose`), where each partition's copies live
(`replicas`) and Kafka transactions (`transactions`). Running a broker locally is
`eda_lib.kafka_local`'s job."""

from eda_lib.kafka.broker import KafkaBroker
from eda_lib.kafka.replicas import (
    PartitionReplicas,
    create_placed_topic,
    replicas,
    replicas_table,
    set_topic_config,
    topic_config,
    wait_for,
)
from eda_lib.kafka.security import (
    HIDDEN,
    KafkaConnectError,
    KafkaSecurity,
    KafkaSecurityError,
)
from eda_lib.kafka.transactions import (
    SimulatedCrash,
    TransformReport,
    read_all,
    transform_exactly_once,
    write_in_transaction,
)

__all__ = [
    "HIDDEN",
    "KafkaBroker",
    "KafkaConnectError",
    "KafkaSecurity",
    "KafkaSecurityError",
    "PartitionReplicas",
    "SimulatedCrash",
    "TransformReport",
    "create_placed_topic",
    "read_all",
    "replicas",
    "replicas_table",
    "set_topic_config",
    "topic_config",
    "transform_exactly_once",
    "wait_for",
    "write_in_transaction",
]
