"""A producer and a consumer (lessons 01, 02 and 07) for `CoreBroker`; they use only methods that
every eda_lib broker has too, so they also run on `InMemoryBroker` and `KafkaBroker`.

The consumer's loop is the whole of consuming: poll a batch, decode each record, hand the event
to the handler whose annotation names its class, and commit past it. A record that cannot be
read, or whose handler raises, is copied to `<topic>.dead-letter` with the reason and then
committed: one bad event never stops the consumer, and nothing is lost silently.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any

from eda_lib.core.broker import CoreBroker, StartFrom
from eda_lib.core.events import Event
from eda_lib.core.log import DeliveryReport, Record, TopicPartition

Handler = Callable[[Any], object]


class Producer:
    def __init__(self, broker: CoreBroker) -> None:
        self.broker = broker

    async def send(self, topic: str, event: Event) -> DeliveryReport:
        key = None if event.subject is None else event.subject.encode()
        return await self.broker.produce(topic, event.encode(), key=key)


def takes(handler: Handler) -> type[Event]:
    """The class of event a handler takes: its parameter's annotation (none: every event)."""
    hints = typing.get_type_hints(handler)
    hints.pop("return", None)
    return next(iter(hints.values()), Event)


class Consumer:
    """A member of `group`, reading `topics`; where the group never committed, it starts at the
    oldest record (`start="earliest"`) or at the next new one (`"latest"`)."""

    def __init__(
        self,
        broker: CoreBroker,
        group: str,
        topics: Sequence[str],
        handlers: Sequence[Handler],
        *,
        name: str = "member-1",
        start: StartFrom = "earliest",
    ) -> None:
        self.broker, self.group, self.topics = broker, group, topics
        self.name, self.start = name, start
        # Each handler takes the class its parameter is annotated with (no annotation: Event).
        self.handlers = {next(iter(typing.get_type_hints(h).values()), Event): h for h in handlers}
        self.dead_lettered = 0

    async def run(self, max_events: int, *, idle: float = 0.0, max_polls: int = 100) -> int:
        """Handle up to `max_events`, and stop sooner if a poll finds nothing new within `idle`
        seconds (or after `max_polls` polls). Returns how many it handled."""
        for topic in self.topics:
            await self.broker.create_topic(topic + ".dead-letter")
        await self.broker.join(self.group, self.topics, member=self.name, start=self.start)
        done = 0
        try:
            for _ in range(max_polls):
                batch = await self.broker.poll(
                    self.group, self.name, max_records=max_events - done, timeout=idle
                )
                for record in batch.records:
                    await self.handle(record)
                    tp = TopicPartition(record.topic, record.partition)
                    await self.broker.commit(
                        self.group, self.name, {tp: record.offset + 1}, generation=batch.generation
                    )
                    done += 1
                if done == max_events or not batch.records:
                    break
        finally:  # on an error too: never stay in the group
            await self.broker.leave(self.group, self.name)
        return done

    async def handle(self, record: Record) -> None:
        try:
            event = Event.decode(record.value)
            # The handler of the event's own class, else of the nearest class it derives from.
            mro = type(event).__mro__
            handler = next((self.handlers[c] for c in mro if c in self.handlers), None)
            result = None if handler is None else handler(event)
            if inspect.isawaitable(result):  # an async handler: wait until it is done
                await result
        except Exception as error:  # a bad event must not stop the consumer: park it
            reason = f"{type(error).__name__}: {error}".encode()
            headers = (*record.headers, ("dlt-reason", reason))
            dead_letters = record.topic + ".dead-letter"
            await self.broker.produce(dead_letters, record.value, key=record.key, headers=headers)
            self.dead_lettered += 1
