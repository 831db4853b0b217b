"""Producers and consumers (lessons 01, 02, 08 and 12). The same code runs on any `Broker`."""

from eda_lib.messaging.consumer import Consumer, ConsumerBusy, ConsumerNotRunning, RunReport
from eda_lib.messaging.handlers import Handler, HandlerError
from eda_lib.messaging.loop import CommitMode, ConsumerCrash, ConsumerLoop, Limits, StopReason
from eda_lib.messaging.producer import EVENT_KEY, Producer, SendOutcome

__all__ = [
    "EVENT_KEY",
    "CommitMode",
    "Consumer",
    "ConsumerBusy",
    "ConsumerCrash",
    "ConsumerLoop",
    "ConsumerNotRunning",
    "Handler",
    "HandlerError",
    "Limits",
    "Producer",
    "RunReport",
    "SendOutcome",
    "StopReason",
]
