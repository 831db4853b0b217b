"""Lesson 15's saga, orchestrated: one process manager tells each participant what to do.

Where the choreographed shop (`Shop`) lets each service react to the one before, here the
participants react only to commands, and the orchestrator alone decides the order of steps. For
each reply it reads, it loads that order's saga, decides the next step (`decide`, a pure
function) and records the decision as an event in the saga's own stream. The saga is an
event-sourced aggregate (lesson 09): its state is nothing but those recorded decisions, so an
orchestrator that restarts replays its log and goes on where it was. The log's outbox publishes
each decision to `COMMANDS`: recording a command and sending it cannot part.

The order stays *pending* while its saga runs (a semantic lock): the orchestrator approves it
only once it has shipped, so no reader ever sees an order approved that is later cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, cast

from pydantic import Field, StrictInt

from eda_lib.brokers.base import Broker
from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful, _Payment
from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer
from eda_lib.resilience import ProcessedEvents
from eda_lib.shop.events import CustomerEmailed, PaymentRefunded, ShipmentFailed
from eda_lib.sourcing.aggregate import Aggregate
from eda_lib.sourcing.outbox import Outbox
from eda_lib.sourcing.repository import AggregateNotFound, Repository
from eda_lib.store.base import EventStore

COMMANDS, EVENTS = "saga-commands", "saga-events"
"""`COMMANDS` carries the orchestrator's log (its commands, and the `SagaParked` an operator
watches for); `EVENTS` the participants' events: what they did, which the orchestrator reads."""
SAGA_TOPICS = (COMMANDS, EVENTS)
MAX_REFUND_ATTEMPTS = 3
"""A declined refund is tried this many times in all before a human is asked to step in."""

Step = Literal["charge", "ship", "approve", "refund", "cancel", "email"]


class SagaCommand(Event):
    """The orchestrator's decision: the participant that does `step` should do it now for this
    order. It carries what that participant needs (the order's customer, amount and currency;
    for a cancellation or an email, `note` says what to write)."""

    default_source: ClassVar[str] = "/saga-orchestrator"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    step: Step
    customer_id: NonEmptyStr
    amount: MinorUnits
    currency: CurrencyCode
    attempt: StrictInt = Field(default=1, ge=1)
    note: str = ""


class SagaParked(Event):
    """The saga cannot go on by itself: it waits for a person, who `resume`s it."""

    default_source: ClassVar[str] = "/saga-orchestrator"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    step: Step
    attempts: StrictInt
    reason: NonEmptyStr


class SagaEnded(Event):
    """Every step of the saga is done: the order ended `outcome`."""

    default_source: ClassVar[str] = "/saga-orchestrator"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    outcome: Literal["shipped", "declined", "refunded"]


class RefundDeclined(_Payment):
    """The bank would not pay a refund back (the compensation itself failed); `reason` says
    why."""

    reason: NonEmptyStr


class Saga(Aggregate):
    """One order's saga, as the orchestrator's decisions leave it. `step` is the command it
    waits on a reply to ('new' before the first; 'parked' or 'ended' when it waits for none)."""

    stream_prefix = "saga"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.step = "new"
        self.waiting_on = ""  # the id of that command: only its reply moves the saga on
        self.attempt = 0
        self.customer_id = ""
        self.amount = 0
        self.currency = "USD"
        self.note = ""  # what the last command said (why it cancels, what it emails)
        self.path: list[str] = []  # every step commanded, in order
        self.outcome = ""
        self.reason = ""  # why it is parked

    def apply(self, event: Event) -> None:
        match event:
            case SagaCommand():
                self.step, self.attempt = event.step, event.attempt
                self.waiting_on = str(event.id)
                self.customer_id, self.amount = event.customer_id, event.amount
                self.currency, self.note = event.currency, event.note
                self.path = [*self.path, event.step]
            case SagaParked():
                self.step, self.waiting_on, self.reason = "parked", "", event.reason
                self.path = [*self.path, "parked"]
            case SagaEnded():
                self.step, self.waiting_on, self.outcome = "ended", "", event.outcome
            case _:
                raise self.unexpected(event)

    def command(self, step: Step, *, attempt: int = 1, note: str = "") -> SagaCommand:
        """The command for `step` of this order (not yet recorded: `decide` returns it)."""
        return SagaCommand(
            order_id=self.id,
            step=step,
            customer_id=self.customer_id,
            amount=self.amount,
            currency=self.currency,
            attempt=attempt,
            note=note,
        )

    def park(self, reason: str) -> SagaParked:
        """The event that parks this saga at its step until a person resumes it."""
        step = cast("Step", self.step)  # SagaParked checks that it is a step
        return SagaParked(order_id=self.id, step=step, attempts=self.attempt, reason=reason)

    def outcome_ahead(self) -> Literal["shipped", "declined", "refunded"]:
        """The outcome its path leads to."""
        if "refund" in self.path:
            return "refunded"
        return "shipped" if "ship" in self.path else "declined"


RefundPolicy = Callable[[Saga, RefundDeclined], Event]
"""What the saga does when a refund is declined: a `SagaCommand` (try again) or a `SagaParked`."""


def retry_then_park(saga: Saga, declined: RefundDeclined) -> Event:
    """Try the refund again, up to `MAX_REFUND_ATTEMPTS` in all; then park the saga for a person.
    The money is owed either way: giving up, or cancelling without it, would lose it silently."""
    if saga.attempt < MAX_REFUND_ATTEMPTS:
        return saga.command("refund", attempt=saga.attempt + 1, note=saga.note)
    return saga.park(f"refund declined {saga.attempt} times: {declined.reason}")


def decide(
    saga: Saga, event: Event, on_refund_declined: RefundPolicy = retry_then_park
) -> Event | None:
    """The next event for the saga's log, given a participant's `event`; None if it changes
    nothing: a repeat, or a reply to a command the saga no longer waits for."""
    if isinstance(event, OrderCreated):  # the order was placed: the saga begins
        if saga.step != "new":
            return None
        return SagaCommand(
            order_id=event.order_id,
            step="charge",
            customer_id=event.customer_id,
            amount=event.amount,
            currency=event.currency,
        )
    if not saga.waiting_on or str(event.causation_id) != saga.waiting_on:
        return None
    match saga.step, event:
        case "charge", PaymentSuccessful():
            return saga.command("ship")
        case "charge", PaymentFailed():
            return saga.command("cancel", note=f"payment failed ({event.reason})")
        case "ship", OrderShipped():
            return saga.command("approve")  # the semantic lock lifts only now
        case "ship", ShipmentFailed():
            return saga.command("refund", note=f"shipment failed: {event.reason}")
        case "refund", PaymentRefunded():
            return saga.command("cancel", note=f"payment refunded ({event.reason})")
        case "refund", RefundDeclined():
            return on_refund_declined(saga, event)
        case "approve", OrderApproved():
            return saga.command("email", note="your order is on its way")
        case "cancel", OrderCancelled():
            return saga.command("email", note=f"your order was cancelled: {event.reason}")
        case "email", CustomerEmailed():
            return SagaEnded(order_id=saga.id, outcome=saga.outcome_ahead())
    return None


class Orchestrator:
    """The process manager: reads every participant event on `EVENTS` (its own consumer group),
    keeps each order's `Saga` in `store` (its log), and publishes its decisions to `COMMANDS`.
    A new `Orchestrator` on the same store is the same orchestrator restarted."""

    GROUP = "saga-orchestrator"

    def __init__(
        self,
        broker: Broker,
        store: EventStore,
        *,
        policy: RefundPolicy = retry_then_park,
        idempotency: ProcessedEvents | None = None,
    ) -> None:
        self.store = store
        self.sagas = Repository(store, Saga)
        self.policy = policy
        self.outbox = Outbox(store, Producer(broker, "orchestrator"), COMMANDS, name="saga-log")
        self.reader = Consumer(
            broker,
            self.GROUP,
            EVENTS,
            [self.on_event],
            name="orchestrator",
            idempotency=idempotency,
            start="earliest",
        )
        self.decided = 0
        self.unmoved = 0  # events that changed no saga: repeats, stale replies

    def __repr__(self) -> str:
        return f"Orchestrator({self.decided} decisions, {self.outbox.pending()} unpublished)"

    def saga(self, order_id: str) -> Saga:
        """The saga of `order_id`, replayed from the log (a new one if it has no events yet)."""
        try:
            return self.sagas.load(order_id)
        except AggregateNotFound:
            return Saga(order_id)

    def on_event(self, event: Event) -> None:
        order_id = getattr(event, "order_id", None)
        if not isinstance(order_id, str):
            return
        saga = self.saga(order_id)
        decision = decide(saga, event, self.policy)
        if decision is None:
            self.unmoved += 1
            return
        with saga.caused_by(event):  # the decision joins the order's story
            saga.record(decision)
        self.sagas.save(saga)
        self.decided += 1

    def resume(self, order_id: str, *, note: str) -> None:
        """A person has dealt with a parked saga's cause (the bank, say): try its step again."""
        saga = self.saga(order_id)
        if saga.step != "parked":
            raise ValueError(
                f"the saga of {order_id} is at '{saga.step}', not parked. "
                "Fix: resume only a saga a SagaParked event named"
            )
        step = cast("Step", saga.path[-2])  # the step before "parked"
        parked = self.store.read_stream(saga.stream_id)[-1].event
        with saga.caused_by(parked):  # so the order's story goes on through the person
            saga.record(saga.command(step, attempt=saga.attempt + 1, note=f"{saga.note}; {note}"))
        self.sagas.save(saga)

    async def publish(self) -> int:
        """Send what the log holds and the topic does not."""
        return (await self.outbox.publish_pending()).published

    def order_ids(self) -> list[str]:
        """Every order with a saga in the log."""
        found: set[str] = set()
        position = 1
        while page := self.store.read_all(position, 1_000):  # bounded: the log has an end
            found.update(getattr(s.event, "order_id", "") for s in page)
            position = page[-1].position + 1
        return sorted(found - {""})

    def table(self) -> list[dict[str, object]]:
        """Each saga's state: where it is, at which attempt, and the steps it took."""
        rows: list[dict[str, object]] = []
        for order_id in self.order_ids():
            saga = self.saga(order_id)
            rows.append(
                {
                    "order": order_id,
                    "step": saga.step,
                    "attempt": saga.attempt,
                    "path": " > ".join(saga.path),
                    "outcome": saga.outcome,
                }
            )
        return rows
