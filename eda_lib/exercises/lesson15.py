"""Self-checking exercises of lesson 15 (the capstone): the refund that compensates a failed
shipment, and a check of the shop's central promise written by the learner."""

from __future__ import annotations

import random
from typing import Any
from uuid import uuid5

from eda_lib.domain.orders import OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, fail
from eda_lib.shop.events import PaymentRefunded, ShipmentFailed


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
        return fail(f"it raised {type(error).__name__}: {error}", "see the error above")
    if not isinstance(first, PaymentRefunded):
        return fail(f"it returned {first!r:.80}", "return failed.follow_up(PaymentRefunded, ...)")
    same = ("payment_id", "order_id", "amount", "currency")
    wrong = [name for name in same if getattr(first, name) != getattr(failed, name)]
    if wrong:
        return fail(
            f"the refund's {', '.join(wrong)} differ from the failed shipment's",
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
                return fail(f"it raised {type(error).__name__}: {error}", "see the error above")
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
