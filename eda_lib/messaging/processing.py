"""One record's way through a consumer (lessons 01, 06 and 12): decode it, pick its handler by
the event's class, skip it if its effect was applied already, run the handler (again, with
backoff, if it fails), and dead-letter what cannot be handled. The loop around it decides when
to commit."""

from __future__ import annotations

import enum
import inspect
import random
from typing import NamedTuple

from eda_lib.brokers.base import Record
from eda_lib.codecs import Codec
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
        member: Membership,
        codec: Codec,
        handlers: Handlers,
        dead_letters: DeadLetters,
        *,
        retry: RetryPolicy | None,
        idempotency: ProcessedEvents | None,
        faults: ConsumerFaults | None,
        rng: random.Random,
    ) -> None:
        self.member = member
        self.codec = codec
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

    async def process(self, record: Record) -> tuple[Outcome, Event | None]:
        """Decode the record and run its handler; the outcome, and the event if it was read."""
        event = self.decode(record)
        if isinstance(event, Unreadable):
            return await self.unreadable(record, event), None
        handler = self.handlers[type(event)]
        if handler is None:
            self.member.hop("ignored", record, event, "no handler for this type")
            self.ignored += 1
            return Outcome.SKIPPED, event
        if self.applied_before(record, event):
            return Outcome.SKIPPED, event
        if self.faults is not None and self.faults.slow:
            await wait(self.member.clock, self.faults.slow)
        return await self.run_handler(handler, record, event), event

    def decode(self, record: Record) -> Event | Unreadable:
        """The record's event, or why it cannot be read."""
        try:
            return self.codec.decode(record.value, record.headers, read_as=self.handlers.read_as)
        except Exception as error:  # a codec bug must not stop the consumer either
            return Unreadable.because(error)

    async def unreadable(self, record: Record, why: Unreadable) -> Outcome:
        """Park a record that cannot be read; UNPARKED if the broker would not take it."""
        parked = await self.dead_letters.park(record, why.reason, why.error)
        return Outcome.SKIPPED if parked else Outcome.UNPARKED

    def applied_before(self, record: Record, event: Event) -> bool:
        """With an idempotency store: was this event's effect applied by this group already?"""
        if self.idempotency is None or not self.idempotency.seen(self.member.group, event.id):
            return False
        self.member.hop("duplicate", record, event, "already applied: skipped")
        self.repeats += 1
        return True

    def applied(self, record: Record, event: Event) -> None:
        """The event's handler finished: remember it (with an idempotency store), count it."""
        if self.idempotency is not None:
            self.idempotency.add(self.member.group, event.id)
        self.member.hop("handled", record, event)
        self.handled += 1

    async def run_handler(self, handler: Handler, record: Record, event: Event) -> Outcome:
        """Run the handler; if it fails, again with backoff while the policy allows, then park
        the record with the last error."""
        attempts = 1
        while True:
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except ConsumerCrash:
                raise
            except Exception as error:  # a handler bug must not stop the consumer
                problem = f"{type(error).__name__}: {error}"
                if self.retry is None or attempts >= self.retry.max_attempts:
                    parked = await self.dead_letters.park(
                        record, "handler_error", problem, event, attempts
                    )
                    return Outcome.GAVE_UP if parked else Outcome.UNPARKED
                delay = self.retry.delay(attempts, self.rng)
                detail = f"attempt {attempts} failed ({problem}); next in {delay:.2f} s"
                self.member.hop("retried", record, event, detail)
                self.retries += 1
                await wait(self.member.clock, delay)
                attempts += 1
            else:
                self.applied(record, event)
                return Outcome.HANDLED
