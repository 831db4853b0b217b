"""An event, a producer and a consumer (lessons 01, 02 and 07), for `CoreBroker` (and any eda_lib
broker). An event is a fact in an envelope (id, source, time, subject), written as CloudEvents
JSON; a kind of event is a dataclass like `Event`. The consumer's loop is all of consuming: poll,
decode, hand each event to the handler whose annotation names its class, commit. What cannot be
read or handled goes to `<topic>.dead-letter` with the reason: nothing is lost silently."""

from __future__ import annotations

import inspect
import json
import typing
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from eda_lib.core.broker import CoreBroker, DeliveryReport, Record, StartFrom, TopicPartition

ENVELOPE = ("id", "source", "time", "subject")
Handler = Callable[[Any], object]


@dataclass(frozen=True, kw_only=True)
class Event:
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    source: str = "/eda-notebooks"
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    subject: str | None = None  # the message key: the events of one subject stay in order
    classes: ClassVar[dict[str, type[Event]]] = {}  # every kind of event, by its type's name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.classes[cls.__name__] = cls

    def encode(self) -> bytes:
        data = asdict(self)
        envelope = {name: data.pop(name) for name in ENVELOPE}
        cloud_event = {"specversion": "1.0", "type": type(self).__name__, **envelope, "data": data}
        return json.dumps(cloud_event).encode()

    @staticmethod
    def decode(value: bytes) -> Event:
        """The event in `value`; raises if it is not JSON or not an event of a known kind."""
        message = json.loads(value)
        envelope = {name: message[name] for name in ENVELOPE if name in message}
        return Event.classes[message["type"]](**envelope, **message["data"])


class Producer:
    def __init__(self, broker: CoreBroker) -> None:
        self.broker = broker

    async def send(self, topic: str, event: Event) -> DeliveryReport:
        key = None if event.subject is None else event.subject.encode()
        return await self.broker.produce(topic, event.encode(), key=key)


def takes(handler: Handler) -> type[Event]:
    """The class of event a handler takes: its first parameter's annotation (none: any event)."""
    first = next(iter(inspect.signature(handler).parameters))
    return typing.get_type_hints(handler).get(first, Event)  # type: ignore[no-any-return]


class Consumer:
    """A member of `group` reading `topics`, from `start` where the group never committed."""

    def __init__(
        self, broker: CoreBroker, group: str, topics: Sequence[str], handlers: Sequence[Handler],
        *, name: str = "member-1", start: StartFrom,
    ) -> None:
        self.broker, self.group, self.name, self.start = broker, group, name, start
        self.topics = [topics] if isinstance(topics, str) else topics  # one topic, or several
        self.handlers = {takes(handler): handler for handler in handlers}
        self.dead_lettered = 0

    async def run(self, max_events: int, *, idle: float = 0.0) -> int:
        """Process up to `max_events` (handled or parked), fewer if a poll finds nothing new within
        `idle` seconds; returns how many. Bounded: each poll brings a record, or the loop ends."""
        for topic in self.topics:
            await self.broker.create_topic(topic + ".dead-letter")
        await self.broker.join(self.group, self.topics, member=self.name, start=self.start)
        done = 0
        try:
            while done < max_events:
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
                if not batch.records:
                    break
        finally:  # on an error too: never stay in the group
            await self.broker.leave(self.group, self.name)
        return done

    async def handle(self, record: Record) -> None:
        if record.value is None:  # a tombstone deletes its key (lesson 07): there is no event
            return
        try:
            event = Event.decode(record.value)
            mro = type(event).__mro__  # its own class first, then those it derives from
            handler = next((self.handlers[c] for c in mro if c in self.handlers), None)
            result = None if handler is None else handler(event)
            if inspect.isawaitable(result):  # an async handler: wait until it is done
                await result
        except Exception as error:  # a bad event must not stop the consumer: park it
            reason = f"{type(error).__name__}: {error}".encode()
            headers = (*record.headers, ("dlt-reason", reason))
            target = record.topic + ".dead-letter"
            await self.broker.produce(target, record.value, key=record.key, headers=headers)
            self.dead_lettered += 1
