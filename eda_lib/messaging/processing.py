"""One record's way through a consumer: decode it, pick its handler, skip it if it was applied
already, run the handler (again, with backoff, if it fails), and dead-letter what cannot be
handled. The consumer around it decides when to commit."""

from __future__ import annotations

import enum
import inspect
import random
from typing import NamedTuple

from eda_lib.brokers.base import Record
from eda_lib.events import Event, InvalidEvent
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.dead_letters import DeadLetters
from eda_lib.messaging.handlers import Handler, Handlers
from eda_lib.messaging.membership import Membership
from eda_lib.resilience import ProcessedEvents, RetryPolicy, wait


class ConsumerCrash(Exception):
    """Raise from a handler given to `Consumer.run` to simulate the consumer process dying at
    that point: it leaves its group at once, commits nothing more, and `run` returns with
    `stopped_because="crashed"`. (Raised in the body of an `events()` loop, it simply ends the
    loop, as any exception does: leave the group with `stop()` or the `async with` block.)"""


class Outcome(enum.Enum):
    HANDLED = "handled"  # the handler ran to the end
    GAVE_UP = "gave up"  # the handler kept failing: the event was dead-lettered
    SKIPPED = "skipped"  # unreadable (dead-lettered), no handler for it, or applied before
    UNPARKED = "unparked"  # it should be dead-lettered, but the broker would not take it


class Unreadable(NamedTuple):
    reason: str  # an InvalidEvent problem code, or 'undecodable' for a codec bug
    error: str

    @classmethod
    def because(cls, error: Exception) -> Unreadable:
        if isinstance(error, InvalidEvent):
            return cls(error.problem, str(error))
        return cls("undecodable", f"{type(error).__name__}: {error}")


class Processor:
    def __init__(
        self,
        membership: Membership,
        handlers: Handlers,
        dead_letters: DeadLetters,
        *,
        retry: RetryPolicy | None,
        idempotency: ProcessedEvents | None,
        faults: ConsumerFaults | None,
        rng: random.Random,
    ) -> None:
        self.membership = membership
        self.handlers = handlers
        self.dead_letters = dead_letters
        self.retry = retry
        self.idempotency = idempotency
        self.faults = faults
        self.rng = rng
        self.handled = 0
        self.ignored = 0
        self.retries = 0
        self.repeats = 0  # events an idempotent consumer had applied already

    def decode(self, record: Record) -> Event | Unreadable:
        try:
            return self.membership.broker.codec.decode(
                record.value, record.headers, read_as=self.handlers.read_as
            )
        except Exception as error:  # a codec bug must not stop the consumer either
            return Unreadable.because(error)

    async def unreadable(self, record: Record, why: Unreadable) -> Outcome:
        parked = await self.dead_letters.park(record, why.reason, why.error)
        return Outcome.SKIPPED if parked else Outcome.UNPARKED

    def applied_before(self, record: Record, event: Event) -> bool:
        """With an idempotency store: was this event's effect applied by this group already?"""
        if self.idempotency is None or not self.idempotency.seen(self.membership.group, event.id):
            return False
        self.membership.hop("duplicate", record, event, "already applied: skipped")
        self.repeats += 1
        return True

    def applied(self, record: Record, event: Event) -> None:
        if self.idempotency is not None:
            self.idempotency.add(self.membership.group, event.id)
        self.membership.hop("handled", record, event)
        self.handled += 1

    async def process(self, record: Record) -> tuple[Outcome, Event | None]:
        # Every event of every consumer comes through here: the usual case (readable, one
        # handler, first try) makes no call it can avoid.
        try:
            event = self.membership.broker.codec.decode(
                record.value, record.headers, read_as=self.handlers.read_as
            )
        except Exception as error:  # a codec bug must not stop the consumer either
            return await self.unreadable(record, Unreadable.because(error)), None
        handler = self.handlers[type(event)]
        if handler is None:
            self.membership.hop("ignored", record, event, "no handler for this type")
            self.ignored += 1
            return Outcome.SKIPPED, event
        if self.idempotency is not None and self.applied_before(record, event):
            return Outcome.SKIPPED, event
        if self.faults is not None and self.faults.slow:
            await wait(self.membership.broker.clock, self.faults.slow)
        try:
            result = handler(event)
            if result is not None and inspect.isawaitable(result):
                await result
        except ConsumerCrash:
            raise
        except Exception as error:  # a handler bug must not stop the consumer
            return await self._again(handler, record, event, error), event
        self.handled += 1
        if self.idempotency is not None:
            self.idempotency.add(self.membership.group, event.id)
        m = self.membership
        m.broker.trace.record(
            "handled",
            record.topic,
            record.partition,
            record.offset,
            m.group,
            m.name,
            event.event_type,
            event.id,
        )
        return Outcome.HANDLED, event

    async def _again(
        self, handler: Handler, record: Record, event: Event, error: Exception
    ) -> Outcome:
        """The handler failed: retry it with backoff while the policy allows, then park it."""
        attempts = 1
        while True:
            problem = f"{type(error).__name__}: {error}"
            if self.retry is None or attempts >= self.retry.max_attempts:
                parked = await self.dead_letters.park(
                    record, "handler_error", problem, event, attempts
                )
                return Outcome.GAVE_UP if parked else Outcome.UNPARKED
            delay = self.retry.delay(attempts, self.rng)
            self.membership.hop(
                "retried",
                record,
                event,
                f"attempt {attempts} failed ({problem}); next in {delay:.2f} s",
            )
            self.retries += 1
            await wait(self.membership.broker.clock, delay)
            attempts += 1
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except ConsumerCrash:
                raise
            except Exception as again:
                error = again
            else:
                self.applied(record, event)
                return Outcome.HANDLED
