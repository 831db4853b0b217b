"""eda_lib: the library behind the eda-notebooks lessons.

The names a notebook needs are importable from here; each module's docstring says which lesson
it belongs to.
"""

from eda_lib.brokers import (
    Broker,
    BrokerError,
    BrokerState,
    BrokerUnavailable,
    CommitFailed,
    DeliveryReport,
    InMemoryBroker,
    Record,
    Retention,
    TopicPartition,
    UnknownGroup,
    UnknownMember,
    UnknownTopic,
)
from eda_lib.clock import VirtualClock, reproducible
from eda_lib.codecs import deserialize, serialize
from eda_lib.connect import open_broker, quiet_kafka_logs
from eda_lib.domain import (
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    PaymentFailed,
    PaymentSuccessful,
    format_money,
)
from eda_lib.events import Event, InvalidEvent
from eda_lib.faults import BrokerFaults, ConsumerFaults, CrashOnce
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import LocalCluster, LocalKafka
from eda_lib.messaging import (
    EVENT_KEY,
    Consumer,
    ConsumerCrash,
    Handler,
    HandlerError,
    Producer,
    RunReport,
)
from eda_lib.store import (
    ConcurrencyError,
    EventStore,
    InMemoryEventStore,
    SQLiteEventStore,
    StoredEvent,
    StoreError,
    Subscription,
)
from eda_lib.trace import Hop, Trace

__all__ = [
    "EVENT_KEY",
    "Broker",
    "BrokerError",
    "BrokerFaults",
    "BrokerState",
    "BrokerUnavailable",
    "CommitFailed",
    "ConcurrencyError",
    "Consumer",
    "ConsumerCrash",
    "ConsumerFaults",
    "CrashOnce",
    "DeliveryReport",
    "Event",
    "EventStore",
    "Handler",
    "HandlerError",
    "Hop",
    "InMemoryBroker",
    "InMemoryEventStore",
    "InvalidEvent",
    "KafkaBroker",
    "LocalCluster",
    "LocalKafka",
    "OrderApproved",
    "OrderCancelled",
    "OrderCreated",
    "PaymentFailed",
    "PaymentSuccessful",
    "Producer",
    "Record",
    "Retention",
    "RunReport",
    "SQLiteEventStore",
    "StoreError",
    "StoredEvent",
    "Subscription",
    "TopicPartition",
    "Trace",
    "UnknownGroup",
    "UnknownMember",
    "UnknownTopic",
    "VirtualClock",
    "deserialize",
    "format_money",
    "open_broker",
    "quiet_kafka_logs",
    "reproducible",
    "serialize",
]
