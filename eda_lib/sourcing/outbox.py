"""Publishing what the event store holds (lesson 09): the store is the outbox.

Saving an aggregate and publishing its events are two writes to two systems; a process can die
between them. So the repository only writes to the store, and `Outbox` publishes the store's
events in global order, saving a checkpoint (the last position published) after the broker has
acknowledged each batch. Dying after a publish but before its checkpoint means that batch is
published again on restart: at least once, never lost. The repeats keep their event ids, so an
idempotent consumer (lesson 12) applies each event once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eda_lib.brokers.base import DeliveryReport
from eda_lib.events import Event
from eda_lib.messaging.producer import Producer
from eda_lib.store.base import EventStore, check_whole


class OutboxCrash(RuntimeError):
    """The outbox process died (on purpose, for a lesson) after publishing, before its
    checkpoint was saved."""


@dataclass
class OutboxReport:
    published: int
    """Events handed to the broker and acknowledged in this call."""
    position: int
    """The checkpoint afterwards: the last global position published."""


class Outbox:
    """Publishes the store's events to `topic`, each keyed by its subject (the aggregate's id,
    so one aggregate's events stay in order on one partition). Run one outbox per `name` at a
    time: two would publish the same batches and race on the checkpoint (nothing would be lost,
    but more would be repeated)."""

    def __init__(
        self,
        store: EventStore,
        producer: Producer,
        topic: str,
        *,
        name: str = "outbox",
        batch_size: int = 100,
        crash_after_publish: Callable[[Event], bool] | None = None,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.name = name
        self.batch_size = check_whole(batch_size, "batch_size", least=1)
        self.crash_after_publish = crash_after_publish
        self.reports: list[DeliveryReport] = []

    def __repr__(self) -> str:
        return f"Outbox('{self.name}' → {self.topic}, {self.pending()} waiting)"

    @property
    def position(self) -> int:
        """The last global position published (and acknowledged)."""
        return self.store.checkpoint(self.name)

    def pending(self) -> int:
        """How many stored events are not yet published."""
        return self.store.last_position() - self.position

    async def publish_pending(self) -> OutboxReport:
        """Publish everything stored since the checkpoint, a batch at a time."""
        published = 0
        while batch := self.store.read_all(self.position + 1, self.batch_size):
            events = [stored.event for stored in batch]
            self.reports.extend(await self.producer.send_all(self.topic, events))
            published += len(batch)
            crash = self.crash_after_publish
            # A list, not a generator: every event is shown to the fault, so a one-off fault
            # (CrashOnce) counts them all as seen and does not fire again on the repeat.
            if crash is not None and any([crash(event) for event in events]):
                raise OutboxCrash(
                    f"the outbox died after publishing positions {batch[0].position}-"
                    f"{batch[-1].position}, before saving its checkpoint; they will be "
                    "published again when it restarts"
                )
            self.store.save_checkpoint(self.name, batch[-1].position)
        return OutboxReport(published, self.position)
