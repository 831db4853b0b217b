"""Publish/subscribe (lesson 11, course chapter 5): a publisher and a subscriber interface with
a handler callback and cancellation, implemented on any `Broker`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Protocol

from eda_lib.brokers.base import Broker, DeliveryReport, StartFrom
from eda_lib.events import Event
from eda_lib.messaging import Consumer, Handler, Producer, RunReport


class Publisher(Protocol):
    async def publish(self, topic: str, event: Event) -> DeliveryReport: ...


class Subscriber(Protocol):
    async def subscribe(self, topic: str, group: str, handler: Handler) -> Subscription: ...


class BrokerPublisher:
    def __init__(self, broker: Broker, name: str = "publisher") -> None:
        self._producer = Producer(broker, name)

    async def publish(self, topic: str, event: Event) -> DeliveryReport:
        return await self._producer.send(topic, event)


class Subscription:
    """A consumer running in the background until `cancel()` or for at most `lifetime` seconds
    (every loop in a lesson is bounded); either way it then leaves its group, so its partitions
    go to the other members. `handled` counts what its handler finished."""

    def __init__(self, consumer: Consumer, lifetime: float) -> None:
        self.consumer = consumer
        self.lifetime = lifetime
        self._task: asyncio.Task[RunReport] | None = None

    async def _start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.get_running_loop().create_task(self._live())

    async def _live(self) -> RunReport:
        try:
            return await self.consumer.run(timeout=self.lifetime)
        finally:
            await self.consumer.stop()

    @property
    def handled(self) -> int:
        return self.consumer.handled

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    async def cancel(self) -> None:
        """Stop receiving: the consumer finishes and commits the event in hand, then leaves
        its group. Events published afterwards wait for the group in the broker."""
        if self._task is None:
            return
        self.consumer.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


_names = itertools.count(1)


class BrokerSubscriber:
    """Subscribes handlers through consumer groups of `broker`. `start` says where a new group
    starts, as `auto.offset.reset` does in the course's subscriber ("earliest" there)."""

    def __init__(self, broker: Broker, *, start: StartFrom, lifetime: float = 60.0) -> None:
        self.broker = broker
        self.start = start
        self.lifetime = lifetime

    async def subscribe(
        self, topic: str, group: str, handler: Handler, name: str | None = None
    ) -> Subscription:
        consumer = Consumer(
            self.broker,
            group,
            topic,
            handler,
            name=name or f"{group}-sub-{next(_names)}",
            start=self.start,
        )
        subscription = Subscription(consumer, self.lifetime)
        await subscription._start()
        return subscription
