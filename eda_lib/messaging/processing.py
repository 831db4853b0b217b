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
    """Raise from a handler to simulate the consumer process dying at that point: it leaves its
    group at once, commits nothing more, and `run` returns with `stopped_because="crashed"`."""


class Outcome(enum.Enum):
    HANDLED = "handled"  # the handler ran to the end
    GAVE_UP = "gave up"  # the handler kept failing: the event was dead-lettered
    SKIPPED = "skipped"  # unreadable (dead-lettered), no handler for it, or applied before
    UNPARKED = "unparked"  # it should be dead-lettered, but the broker would not take it

    @property
    def ran_handler(self) -> bool:
        return self in (Outcome.HANDLED, Outcome.GAVE_UP)


class Unreadable(NamedTuple):
    reason: str  # an InvalidEvent problem code, or 'undecodable' for a codec bug
    error: str


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
            return self.membership.broker.codec.decode(record.value, record.headers)
        except InvalidEvent as error:
            return Unreadable(error.problem, str(error))
        except Exception as error:  # a codec bug must not stop the consumer either
            return Unreadable("undecodable", f"{type(error).__name__}: {error}")

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
        event = self.decode(record)
        if isinstance(event, Unreadable):
            return await self.unreadable(record, event), None
        handler = self.handlers.for_type(type(event))
        if handler is None:
            self.membership.hop("ignored", record, event, "no handler for this type")
            self.ignored += 1
            return Outcome.SKIPPED, event
        if self.applied_before(record, event):
            return Outcome.SKIPPED, event
        if self.faults is not None and self.faults.slow:
            await wait(self.membership.broker.clock, self.faults.slow)
        return await self._run(handler, record, event), event

    async def _run(self, handler: Handler, record: Record, event: Event) -> Outcome:
        attempts = 0
        while True:
            attempts += 1
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except ConsumerCrash:
                raise
            except Exception as error:  # a handler bug must not stop the consumer
                problem = f"{type(error).__name__}: {error}"
                if self.retry is not None and attempts < self.retry.max_attempts:
                    delay = self.retry.delay(attempts, self.rng)
                    self.membership.hop(
                        "retried",
                        record,
                        event,
                        f"attempt {attempts} failed ({problem}); next in {delay:.2f} s",
                    )
                    self.retries += 1
                    await wait(self.membership.broker.clock, delay)
                    continue
                parked = await self.dead_letters.park(
                    record, "handler_error", problem, event, attempts
                )
                return Outcome.GAVE_UP if parked else Outcome.UNPARKED
            self.applied(record, event)
            return Outcome.HANDLED
