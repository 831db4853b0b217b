"""The teaching core, to read in one sitting: `broker` (records, partition logs, Kafka's
partitioner, consumer groups), then `clients` (an event, a producer and the consumer loop)."""

from eda_lib.core.broker import CoreBroker
from eda_lib.core.clients import Consumer, Event, Producer

__all__ = ["Consumer", "CoreBroker", "Event", "Producer"]
