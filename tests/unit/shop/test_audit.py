"""The shop's audit (lesson 15): each order held to the rules, repeats skipped, a second shipment
caught."""

from __future__ import annotations

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.shop import CustomerEmailed, PaymentRefunded, ShipmentFailed, audit, expected_outcome


def _saga(order_id: str, *, shipped_twice: bool = False) -> list[Event]:
    created = OrderCreated(order_id=order_id, customer_id="ann", amount=100)
    paid = created.follow_up(
        PaymentSuccessful, payment_id="p", order_id=order_id, amount=100, currency="USD"
    )
    shipped = paid.follow_up(OrderShipped, order_id=order_id)
    events = [created, paid, paid.follow_up(OrderApproved, order_id=order_id), shipped]
    events.append(shipped.follow_up(CustomerEmailed, order_id=order_id, about="on its way"))
    if shipped_twice:
        events.append(paid.follow_up(OrderShipped, order_id=order_id))
    return events


def test_the_audit_skips_repeats_but_catches_a_second_shipment() -> None:
    events = _saga("o-1")
    assert audit(events + events[:3]).consistent and audit(events + events[:3]).repeats == 3
    doubled = audit(_saga("o-1", shipped_twice=True))
    assert not doubled.consistent and doubled.problems() == ["o-1: shipped 2 times"]
    unfinished = audit(_saga("o-1")[:2])
    assert not unfinished.consistent and unfinished.orders[0].waiting_for == "a shipment"


def test_the_audit_holds_each_order_to_the_rules() -> None:
    created = OrderCreated(order_id="o-9", customer_id="bob", amount=25_000)  # over bob's limit
    money = {"payment_id": "p", "order_id": "o-9", "amount": 25_000, "currency": "USD"}
    paid = created.follow_up(PaymentSuccessful, **money)
    shipped = paid.follow_up(OrderShipped, order_id="o-9")
    flow = [created, paid, paid.follow_up(OrderApproved, order_id="o-9"), shipped]
    flow.append(shipped.follow_up(CustomerEmailed, order_id="o-9", about="sent"))
    assert audit(flow).consistent  # the saga's own promises hold...
    judged = audit(flow, expected=expected_outcome)  # ...but the rules say it must be declined
    assert judged.problems() == ["o-9: ended shipped, but the rules say declined"]

    failed = paid.follow_up(ShipmentFailed, **money, reason="lost")
    short = failed.follow_up(PaymentRefunded, **{**money, "amount": 1}, reason="x")
    refunded = [
        created,
        paid,
        failed,
        short,
        short.follow_up(OrderCancelled, order_id="o-9", reason="r"),
    ]
    refunded.append(refunded[-1].follow_up(CustomerEmailed, order_id="o-9", about="sorry"))
    assert audit(refunded).problems() == ["o-9: refunded 1 of the 25000 paid"]

    declined = created.follow_up(PaymentFailed, **money, reason="no")
    approved = [created, declined, declined.follow_up(OrderApproved, order_id="o-9")]
    assert "declined, yet approved" in audit(approved).problems()[0]
