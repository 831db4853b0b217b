"""Lesson 15's exercise checks pass the solutions, and refuse typical mistakes with the hint
that fits."""

from __future__ import annotations

import uuid

from eda_lib.domain.orders import OrderCancelled, OrderShipped
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.exercises.lesson15 import check_refund, check_unsettled
from eda_lib.shop import PaymentRefunded, ShipmentFailed


def refund(failed: ShipmentFailed, *, stable: bool = True, chained: bool = True) -> PaymentRefunded:
    fields = {
        "payment_id": failed.payment_id,
        "order_id": failed.order_id,
        "amount": failed.amount,
        "currency": failed.currency,
        "reason": f"shipment failed: {failed.reason}",
    }
    if not chained:
        return PaymentRefunded(**fields)
    return failed.follow_up(PaymentRefunded, stable_id=stable, **fields)


def test_the_refund_check_wants_a_chained_stable_refund_of_what_was_paid() -> None:
    assert check_refund(refund)
    unstable = check_refund(lambda f: refund(f, stable=False))
    assert not unstable and "refunded twice" in unstable.message
    loose = check_refund(lambda f: refund(f, chained=False))
    assert not loose and "chain" in loose.message
    halved = check_refund(lambda f: refund(f).revised(amount=f.amount // 2))
    assert not halved and "amount" in halved.message
    assert not check_refund("not a function")
    one_id = uuid.uuid4()
    constant = check_refund(
        lambda f: PaymentRefunded(**{**refund(f).model_dump(exclude={"id"}), "id": one_id})
    )
    assert not constant and "never refunded" in constant.message
    cache: dict[int, PaymentRefunded] = {}  # remembers refunds per object: gone after a restart
    cached = check_refund(lambda f: cache.setdefault(id(f), refund(f, stable=False)))
    assert not cached and "refunded twice" in cached.message


def test_the_unsettled_check_wants_paid_minus_shipped_or_refunded() -> None:
    def solution(events):  # type: ignore[no-untyped-def]
        paid = {e.order_id for e in events if isinstance(e, PaymentSuccessful)}
        done = {e.order_id for e in events if isinstance(e, (OrderShipped, PaymentRefunded))}
        return sorted(paid - done)

    assert check_unsettled(solution)
    every_paid = check_unsettled(
        lambda events: sorted({e.order_id for e in events if isinstance(e, PaymentSuccessful)})
    )
    assert not every_paid and "shipped order is settled" in every_paid.message
    no_refunds = check_unsettled(
        lambda events: sorted(
            {e.order_id for e in events if isinstance(e, PaymentSuccessful)}
            - {e.order_id for e in events if isinstance(e, OrderShipped)}
        )
    )
    assert not no_refunds and "refund settles" in no_refunds.message
    assert not check_unsettled(lambda events: "o-2")
    assert not check_unsettled(lambda events: ["o-2", "o-4", "o-7"])  # written down in advance

    def cancel_settles(events):  # type: ignore[no-untyped-def]
        done = {
            e.order_id
            for e in events
            if isinstance(e, (OrderShipped, PaymentRefunded, OrderCancelled))
        }
        return sorted({e.order_id for e in events if isinstance(e, PaymentSuccessful)} - done)

    wrong = check_unsettled(cancel_settles)
    assert not wrong and "cancelling settles nothing" in wrong.message

    def as_list(events):  # type: ignore[no-untyped-def]
        done = {e.order_id for e in events if isinstance(e, (OrderShipped, PaymentRefunded))}
        return sorted(
            e.order_id
            for e in events
            if isinstance(e, PaymentSuccessful) and e.order_id not in done
        )

    repeated = check_unsettled(as_list)
    assert not repeated and "delivered twice" in repeated.message
