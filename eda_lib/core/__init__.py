"""The teaching core: a broker, an event, a producer and a consumer, to read in one sitting in
this order: `log` (records, partition logs, Kafka's partitioner), `broker` (topics and consumer
groups), `events` (an event as CloudEvents JSON), `clients` (the producer and the consumer loop).
It imports nothing else of eda_lib; the rest of the library does the same with more care, and
the broker contract tests run against `CoreBroker` too, to show that it behaves the same.
"""

from eda_lib.core.broker import CoreBroker
from eda_lib.core.clients import Consumer, Producer
from eda_lib.core.events import Event

__all__ = ["Consumer", "CoreBroker", "Event", "Producer"]
