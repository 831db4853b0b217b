"""Self-checking exercises of lesson 15 (the capstone): the refund that compensates a failed
shipment, and a check of the shop's central promise written by the learner."""

from __future__ import annotations

from typing import Any

from eda_lib.domain.orders import OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises import Check, _fail
from eda_lib.shop.events import PaymentRefunded, ShipmentFailed


def _failed_shipment() -> ShipmentFailed:
    created = OrderCreated(order_id="o-9", customer_id="cy", amount=150_000)
    paid = created.follow_up(
        PaymentSuccessful, payment_id="pay-o-9", order_id="o-9", amount=150_000, currency="USD"
    )
    return paid.follow_up(
        ShipmentFailed,
        order_id="o-9",
        payment_id="pay-o-9",
        amount=150_000,
        currency="USD",
        reason="no carrier insures it",
    )


def check_refund(refund_for: Any) -> Check:
    """Lesson 15, exercise 1: `refund_for(failed)` turns a `ShipmentFailed` into the
    `PaymentRefunded` that compensates it: same payment, order, amount and currency, a reason
    that says why, in the failure's chain, and the same event each time it is called."""
    if not callable(refund_for):
        return _fail(f"expected a function, got {refund_for!r:.60}", "def refund_for(failed): ...")
    failed = _failed_shipment()
    try:
        first, again = refund_for(failed), refund_for(failed)
    except Exception as error:
        return _fail(f"it raised {type(error).__name__}: {error}", "see the error above")
    if not isinstance(first, PaymentRefunded):
        return _fail(f"it returned {first!r:.80}", "return failed.follow_up(PaymentRefunded, ...)")
    same = ("payment_id", "order_id", "amount", "currency")
    wrong = [name for name in same if getattr(first, name) != getattr(failed, name)]
    if wrong:
        return _fail(
            f"the refund's {', '.join(wrong)} differ from the failed shipment's",
            "refund exactly what was paid: copy payment_id, order_id, amount and currency",
        )
    if failed.reason not in first.reason:
        return _fail(f"the reason '{first.reason}' does not say why", "put failed.reason in it")
    if first.causation_id != failed.id or first.correlation != failed.correlation:
        return _fail(
            "the refund is not in the failed shipment's chain, so the order's story loses it",
            "make it with failed.follow_up(...), which sets both ids",
        )
    if first.id != again.id:
        return _fail(
            "called twice, it made two refunds with different ids: after a crash before the "
            "commit, the shipment failure is handled again and the customer is refunded twice",
            "follow_up(..., stable_id=True) gives the same id each time",
        )
    return Check(True, "a refund of exactly what was paid, in the order's chain, made once")


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
    if "repeat" in steps:
        events.append(paid)  # the same event delivered again
    return events


def check_unsettled(unsettled: Any) -> Check:
    """Lesson 15, exercise 2: `unsettled(events)` lists, sorted, the ids of orders whose payment
    went through but that were neither shipped nor refunded: the money the shop holds for
    nothing. Events come in any order, and may repeat."""
    if not callable(unsettled):
        return _fail(f"expected a function, got {unsettled!r:.60}", "def unsettled(events): ...")
    events = [
        *_case("o-1", "shipped"),
        *_case("o-2"),
        *_case("o-3", "failed", "refunded"),
        *_case("o-4", "failed"),
        *_case("o-5", "declined"),
        *_case("o-6", "shipped", "repeat"),
    ]
    expected = ["o-2", "o-4"]
    for name, given in (("in order", events), ("newest first", events[::-1])):
        try:
            got = unsettled(list(given))
        except Exception as error:
            return _fail(f"it raised {type(error).__name__}: {error}", "see the error above")
        if not isinstance(got, list):
            return _fail(f"it returned a {type(got).__name__}", "return a sorted list of ids")
        if got != expected:
            return _fail(
                f"with the events {name} it said {got}; the unsettled orders are {expected}",
                _unsettled_hint(got),
            )
    return Check(
        True, "o-2 (never shipped) and o-4 (shipment failed, no refund yet) found, in any order"
    )


def _unsettled_hint(got: list[Any]) -> str:
    if "o-5" in got:
        return "o-5's payment was declined: no money was taken, so nothing to settle"
    if "o-1" in got or "o-6" in got:
        return "a shipped order is settled: leave out orders with an OrderShipped"
    if "o-3" in got:
        return "a refund settles an order too (o-3 was refunded)"
    if "o-4" not in got:
        return "a failed shipment is not a shipment: o-4 still holds the customer's money"
    if len(got) != len(set(got)):
        return "an event delivered twice is one fact: collect order ids in a set, then sort"
    return "paid = PaymentSuccessful order ids; settled = OrderShipped or PaymentRefunded ones"
