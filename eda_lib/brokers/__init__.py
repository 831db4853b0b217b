"""Brokers: the `Broker` protocol, what both brokers share, and the in-memory broker.
`KafkaBroker` lives in `eda_lib.kafka`, with the rest of Kafka's client side."""

from typing import TYPE_CHECKING

from eda_lib.brokers.base import (
    DEAD_LETTER_SUFFIX,
    Broker,
    BrokerError,
    BrokerState,
    BrokerUnavailable,
    CommitFailed,
    DeliveryReport,
    DuplicateMember,
    GroupMembership,
    GroupState,
    Inspection,
    NotOwner,
    PartitionState,
    Producing,
    Record,
    Retention,
    StartFrom,
    TopicAdmin,
    TopicConflict,
    TopicInUse,
    TopicPartition,
    UnknownGroup,
    UnknownMember,
    UnknownTopic,
    partition_for_key,
)
from eda_lib.brokers.memory import InMemoryBroker

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "Broker",
    "BrokerError",
    "BrokerState",
    "BrokerUnavailable",
    "CommitFailed",
    "DeliveryReport",
    "DuplicateMember",
    "GroupMembership",
    "GroupState",
    "InMemoryBroker",
    "Inspection",
    "NotOwner",
    "PartitionState",
    "Producing",
    "Record",
    "Retention",
    "StartFrom",
    "TopicAdmin",
    "TopicConflict",
    "TopicInUse",
    "TopicPartition",
    "UnknownGroup",
    "UnknownMember",
    "UnknownTopic",
    "partition_for_key",
]

if TYPE_CHECKING:  # never run: `make lint`'s type checker fails here if the broker stops
    # matching its protocol in any method or attribute (eda_lib.kafka proves the same of its own)

    def _the_in_memory_broker_implements_the_protocol(memory: InMemoryBroker) -> Broker:
        return memory
