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

# For the type checker only: eda_lib.kafka imports this package, so a run-time import would cycle.
if TYPE_CHECKING:
    from eda_lib.codecs import Codec, KafkaBinary, StructuredJson
    from eda_lib.kafka import KafkaBroker

    def _both_brokers_implement_the_protocol(
        memory: InMemoryBroker, kafka: KafkaBroker, structured: StructuredJson, binary: KafkaBinary
    ) -> tuple[Broker, Broker, Codec, Codec]:
        # Never called: `make lint` runs the type checker, which fails here if either broker
        # (or codec) stops matching its protocol in any method or attribute.
        return memory, kafka, structured, binary
