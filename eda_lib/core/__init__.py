"""The teaching core, read in one sitting: `broker` (records, logs, groups), then `clients`."""

from eda_lib.core.broker import CoreBroker
from eda_lib.core.clients import Consumer, Event, Producer

__all__ = ["Consumer", "CoreBroker", "Event", "Producer"]
