"""Brokers: the `Broker` protocol and its in-memory implementation."""

from eda_lib.brokers.base import (
    Broker,
    BrokerError,
    BrokerState,
    BrokerUnavailable,
    CommitFailed,
    DeliveryReport,
    GroupState,
    PartitionState,
    Record,
    Retention,
    StartFrom,
    TopicPartition,
    UnknownMember,
    UnknownTopic,
)
from eda_lib.brokers.memory import InMemoryBroker, partition_for_key

__all__ = [
    "Broker",
    "BrokerError",
    "BrokerState",
    "BrokerUnavailable",
    "CommitFailed",
    "DeliveryReport",
    "GroupState",
    "InMemoryBroker",
    "PartitionState",
    "Record",
    "Retention",
    "StartFrom",
    "TopicPartition",
    "UnknownMember",
    "UnknownTopic",
    "partition_for_key",
]
