"""Self-checking exercises of lesson 15 (the capstone): the refund that compensates a failed
shipment, a check of the shop's central promise written by the learner, and what the
orchestrator does when that refund is declined."""

from __future__ import annotations

import random
from typing import Any, cast
from uuid import uuid5

from eda_lib.domain.orders import OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, fail
from eda_lib.shop.events import PaymentRefunded, ShipmentFailed
from eda_lib.shop.orchestrator import (
    MAX_REFUND_ATTEMPTS,
    RefundDeclined,
    Saga,
    SagaCommand,
    SagaEnded,
    SagaParked,
    decide,
)


def _failed_shipment(order_id: str = "o-9", amount: int = 150_000) -> ShipmentFailed:
    created = OrderCreated(order_id=order_id, customer_id="cy", amount=amount)
    money: dict[str, Any] = {
        "payment_id": f"pay-{order_id}",
        "order_id": order_id,
        "amount": amount,
    }
    paid = created.follow_up(PaymentSuccessful, **money, currency="USD")
    return paid.follow_up(ShipmentFailed, **money, currency="USD", reason="no carrier insures it")


def check_refund(refund_for: Any) -> Check:
    """Lesson 15, exercise 1: `refund_for(failed)` turns a `ShipmentFailed` into the
    `PaymentRefunded` that compensates it: same payment, order, amount and currency, a reason
    that says why, in the failure's chain, and the same event each time it is called."""
    if not callable(refund_for):
        return fail(f"expected a function, got {refund_for!r:.60}", "def refund_for(failed): ...")
    failed, other = _failed_shipment(), _failed_shipment("o-8", 120_000)
    # The failure as a restarted process reads it again: an equal event, not the same object.
    read_again = ShipmentFailed.model_validate_json(failed.model_dump_json())
    try:
        first, again, second = refund_for(failed), refund_for(read_again), refund_for(other)
    except Exception as error:
        return fail(f"it raised {type(error).__name__}: {error}", "the message says why")
    if not isinstance(first, PaymentRefunded):
        return fail(f"it returned {first!r:.80}", "return failed.follow_up(PaymentRefunded, ...)")
    same = ("payment_id", "order_id", "amount", "currency")
    wrong = [name for name in same if getattr(first, name) != getattr(failed, name)]
    if wrong:
        return fail(
            f"the refund's {', '.join(wrong)} {'differ' if len(wrong) > 1 else 'differs'} from "
            "the failed shipment's",
            "refund exactly what was paid: copy payment_id, order_id, amount and currency",
        )
    if failed.reason not in first.reason:
        return fail(f"the reason '{first.reason}' does not say why", "put failed.reason in it")
    if first.causation_id != failed.id or first.correlation != failed.correlation:
        return fail(
            "the refund is not in the failed shipment's chain, so the order's story loses it",
            "make it with failed.follow_up(...), which sets both ids",
        )
    if first.id != again.id:
        return fail(
            "handled twice (as after a crash before the commit), it made two refunds with "
            "different ids: downstream cannot tell them apart, and the customer is refunded twice",
            "follow_up(..., stable_id=True) derives the id from the failure's own id",
        )
    if second.id == first.id:
        return fail(
            "two different failed shipments got refunds with the same id: the second would be "
            "skipped as a repeat, and that customer never refunded",
            "derive the id from the failure it answers: follow_up(..., stable_id=True)",
        )
    if first.id.version == 4 and first.id != _stable_id(failed):  # random, yet repeated
        return fail(
            "called twice it gave the same id, but a random one: this process remembered the "
            "refund it made (a dict, functools.lru_cache). A restarted payment service has "
            "forgotten it, makes a new id, and the customer is refunded twice (section 6)",
            "derive the id from what a restart reads again, the failure's own id: "
            "follow_up(..., stable_id=True)",
        )
    return Check(
        True,
        "a refund of exactly what was paid, in the order's chain, its id derived from the "
        "failure's: a restarted service makes the same one",
    )


def _stable_id(failed: ShipmentFailed) -> Any:
    """The id `failed.follow_up(PaymentRefunded, stable_id=True, ...)` gives the refund."""
    return uuid5(failed.id, PaymentRefunded.event_type)


def _case(order_id: str, *steps: str) -> list[Event]:
    created = OrderCreated(order_id=order_id, customer_id="ann", amount=1_000)
    money: dict[str, Any] = {"payment_id": f"pay-{order_id}", "order_id": order_id, "amount": 1_000}
    events: list[Event] = [created]
    if "declined" in steps:
        events.append(
            created.follow_up(PaymentFailed, **money, currency="USD", reason="card declined")
        )
        return events
    paid = created.follow_up(PaymentSuccessful, **money, currency="USD")
    events.append(paid)
    if "shipped" in steps:
        events.append(paid.follow_up(OrderShipped, order_id=order_id))
    if "failed" in steps:
        failed = paid.follow_up(ShipmentFailed, **money, currency="USD", reason="lost")
        events.append(failed)
        if "refunded" in steps:
            events.append(failed.follow_up(PaymentRefunded, **money, currency="USD", reason="x"))
    if "cancelled" in steps:
        events.append(paid.follow_up(OrderCancelled, order_id=order_id, reason="changed mind"))
    if "repeat" in steps:
        events.append(paid)  # the same event delivered again
    return events


def check_unsettled(unsettled: Any) -> Check:
    """Lesson 15, exercise 2: `unsettled(events)` lists, sorted, the ids of orders whose payment
    went through but that were neither shipped nor refunded: the money the shop holds for
    nothing. Events come in any order, and may repeat."""
    if not callable(unsettled):
        return fail(f"expected a function, got {unsettled!r:.60}", "def unsettled(events): ...")
    samples = []
    for prefix in ("o", "x"):  # two shops: the answer cannot be written down in advance
        events = [
            *_case(f"{prefix}-1", "shipped"),
            *_case(f"{prefix}-2"),
            *_case(f"{prefix}-3", "failed", "refunded"),
            *_case(f"{prefix}-4", "failed", "repeat"),
            *_case(f"{prefix}-5", "declined"),
            *_case(f"{prefix}-6", "shipped", "repeat"),
            *_case(f"{prefix}-7", "cancelled"),
        ]
        samples.append((events, [f"{prefix}-2", f"{prefix}-4", f"{prefix}-7"]))
    rng = random.Random(15)
    for events, expected in samples:
        shuffled = rng.sample(events, len(events))
        for name, given in (
            ("in order", events),
            ("newest first", events[::-1]),
            ("shuffled", shuffled),
        ):
            try:
                got = unsettled(list(given))
            except Exception as error:
                return fail(f"it raised {type(error).__name__}: {error}", "the message says why")
            if not isinstance(got, list):
                return fail(f"it returned a {type(got).__name__}", "return a sorted list of ids")
            if got != expected and sorted(got) == expected:
                return fail(
                    f"with the events {name} it found the right orders, {got}, but not sorted",
                    "sort it: return sorted(...)",
                )
            if got != expected:
                hint = _unsettled_hint(got, expected[0][0])
                if name == "shuffled":  # right with each order's events together, not now
                    hint = (
                        "right with the events in order, wrong shuffled: one order's events need "
                        "not come together, nor in order; collect over all events, then compare"
                    )
                return fail(
                    f"with the events {name} it said {got}; the unsettled orders are {expected}",
                    hint,
                )
    return Check(
        True,
        "never shipped, shipment failed without a refund yet, and cancelled without a refund: "
        "all found, with the events in order, newest first and shuffled, repeats and all",
    )


def _unsettled_hint(got: list[Any], prefix: str) -> str:
    if f"{prefix}-5" in got:
        return "a declined payment took no money, so there is nothing to settle"
    if f"{prefix}-1" in got or f"{prefix}-6" in got:
        return "a shipped order is settled: leave out orders with an OrderShipped"
    if f"{prefix}-3" in got:
        return "a refund settles an order too (the third order was refunded)"
    if len(got) != len(set(got)):
        return "an event delivered twice is one fact: collect order ids in a set, then sort"
    if f"{prefix}-7" not in got:
        return "cancelling settles nothing: a cancelled order holds the money until refunded"
    if f"{prefix}-4" not in got:
        return "a failed shipment is not a shipment: the fourth order still holds the money"
    return "paid = PaymentSuccessful order ids; settled = OrderShipped or PaymentRefunded ones"


_BANK_SAYS = "the bank refused it: the card account is closed"


_WHY_REFUND = "shipment failed: worth more than the carrier insures"


def _saga_at_refund(order_id: str, attempts: int = 1) -> tuple[Saga, SagaCommand]:
    """A saga whose shipment failed: it has just sent its refund command, attempt `attempts`
    (more than 1: rebuilt from its log after a restart, with refunds declined before)."""
    fields: dict[str, Any] = {"order_id": order_id, "customer_id": "cy", "amount": 150_000}
    commands = [SagaCommand(**fields, currency="USD", step=step) for step in ("charge", "ship")]
    commands += [
        SagaCommand(**fields, currency="USD", step="refund", attempt=n, note=_WHY_REFUND)
        for n in range(1, attempts + 1)
    ]
    saga = Saga.from_events(order_id, commands)
    return saga, commands[-1]


def _declines(
    policy: Any, order_id: str, declines: int, attempts: int = 1
) -> tuple[list[Event | None], str]:
    """Run the saga's refund (at attempt `attempts`) against a bank that declines it `declines`
    times: every decision the policy made, and how the refund ended ('paid', 'other', or
    'endless')."""
    saga, command = _saga_at_refund(order_id, attempts)
    decisions: list[Event | None] = []
    for answered in range(20):  # far past any sensible bound
        money: dict[str, Any] = {"payment_id": f"pay-{order_id}", "order_id": order_id}
        if answered >= declines:
            return decisions, "paid"
        declined = command.follow_up(
            RefundDeclined, **money, amount=saga.amount, currency="USD", reason=_BANK_SAYS
        )
        decision = decide(saga, declined, policy)
        decisions.append(decision)
        if not isinstance(decision, SagaCommand) or decision.step != "refund":
            return decisions, "other"
        with saga.caused_by(declined):
            saga.record(decision)
        command = cast("SagaCommand", saga.pending_events[-1])
    return decisions, "endless"


def check_refund_policy(policy: Any) -> Check:
    """Lesson 15, exercise 3: `policy(saga, declined)` decides what the orchestrator does when
    the bank declines a refund: try it again (`saga.command("refund", attempt=...)`) while the
    saga has made fewer than `MAX_REFUND_ATTEMPTS` attempts, then park it for a person
    (`saga.park(reason)`, the reason naming the bank's)."""
    if not callable(policy):
        return fail(f"expected a function, got {policy!r:.60}", "def policy(saga, declined): ...")
    # The last saga was rebuilt from its log after a restart, at attempt 2: a policy that counts
    # attempts in a memory of its own, not in the saga, has never seen it.
    rounds = ((1, "r-1", 1), (2, "r-2", 1), (20, "r-3", 1), (MAX_REFUND_ATTEMPTS, "r-4", 1))
    for declines, order_id, attempts in (*rounds, (20, "r-5", 2)):
        try:
            decisions, ended = _declines(policy, order_id, declines, attempts)
        except Exception as error:
            return fail(f"it raised {type(error).__name__}: {error}", "the message says why")
        wrong = _wrong_decision(decisions, ended, declines, order_id, attempts)
        if wrong is not None:
            return wrong
    return Check(
        True,
        f"a declined refund was tried again with its own note, each attempt counted from the "
        f"saga (a saga rebuilt from its log at attempt 2 too), up to {MAX_REFUND_ATTEMPTS} in "
        "all: declined once or twice, the next attempt was paid; declined every time, the "
        "saga was parked at its refund after the last attempt, with the bank's reason",
    )


def _wrong_decision(
    decisions: list[Event | None], ended: str, declines: int, order_id: str, attempts: int
) -> Check | None:
    last = decisions[-1] if decisions else None
    said = f"declined {declines} time{'s' * (declines > 1)}"
    retries = decisions[:-1] if ended == "other" else decisions
    for number, decision in enumerate(retries, attempts + 1):
        if isinstance(decision, SagaCommand) and decision.attempt != number:
            restarted = " (this saga was rebuilt from its log at attempt 2)" * (attempts > 1)
            return fail(
                f"its retry says attempt {decision.attempt}, where it is attempt {number}"
                f"{restarted}: the saga counts its attempts from the commands in its log",
                "count from the saga: saga.command('refund', attempt=saga.attempt + 1, ...)",
            )
        if isinstance(decision, SagaCommand) and decision.note != _WHY_REFUND:
            return fail(
                f"its retry's note is '{decision.note}', not the refund's own "
                f"('{_WHY_REFUND}'): the cancellation and the customer's email would lose why",
                "pass the refund's note on: note=saga.note",
            )
    if ended == "endless":
        return fail(
            f"{said}, it was still retrying: a refund the bank will never pay is retried for "
            "ever, and no person is told",
            "bound it: once saga.attempt reaches MAX_REFUND_ATTEMPTS, park the saga",
        )
    if ended == "paid":
        if declines >= MAX_REFUND_ATTEMPTS:
            return fail(
                f"{said}, it made {len(decisions) + 1} attempts before the bank paid; "
                f"MAX_REFUND_ATTEMPTS is {MAX_REFUND_ATTEMPTS} attempts in all",
                "retry while saga.attempt < MAX_REFUND_ATTEMPTS; park when it is reached",
            )
        return None
    if last is None:
        return fail(
            f"{said}, it returned None: the saga waits for an answer to a command it never "
            "sent, and nobody is told",
            "return a retry, saga.command('refund', ...), or saga.park(reason)",
        )
    if isinstance(last, SagaParked):
        if (last.order_id, last.step) != (order_id, "refund"):
            return fail(
                f"it parked order {last.order_id}'s {last.step} step, where {order_id}'s refund "
                "is stuck: the person called would look at the wrong thing",
                "let the saga make it: saga.park(reason)",
            )
        if declines < MAX_REFUND_ATTEMPTS:
            return fail(
                f"{said}, it parked the saga after {last.attempts} attempt(s); the next one "
                "would have been paid, so a person was called for nothing",
                f"retry until {MAX_REFUND_ATTEMPTS} attempts in all have been declined",
            )
        if last.attempts != MAX_REFUND_ATTEMPTS:
            return fail(
                f"{said}, it parked after {last.attempts} attempts; MAX_REFUND_ATTEMPTS is "
                f"{MAX_REFUND_ATTEMPTS}",
                "retry while saga.attempt < MAX_REFUND_ATTEMPTS; park when it is reached",
            )
        if _BANK_SAYS not in last.reason:
            return fail(
                f"it parked the saga with the reason '{last.reason}', which does not say what "
                "the bank said: the person it calls must find that out again",
                "put declined.reason in the reason",
            )
        return None
    if isinstance(last, SagaCommand) and last.step == "cancel":
        return fail(
            f"{said}, it cancelled the order while the money was still not paid back: the "
            "customer loses it, and nobody is told",
            "the money is owed: retry the refund, then park the saga for a person",
        )
    if isinstance(last, SagaEnded):
        return fail(
            f"{said}, it ended the saga with the money still owed",
            "the saga is not over: retry the refund, then park it for a person",
        )
    what = f"a '{last.step}' command" if isinstance(last, SagaCommand) else repr(last)[:60]
    return fail(
        f"{said}, it decided {what}, where the refund is what is owed",
        "return saga.command('refund', attempt=...) or saga.park(reason)",
    )
