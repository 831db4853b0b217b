"""Lesson 15's exercise checks pass the solutions, and refuse typical mistakes with the hint
that fits."""

from __future__ import annotations

import functools
import itertools
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


def test_the_refund_check_refuses_a_refund_remembered_in_memory() -> None:
    made: dict[uuid.UUID, PaymentRefunded] = {}  # by the failure's id: gone after a restart
    by_id = check_refund(lambda f: made.setdefault(f.id, refund(f, stable=False)))
    assert not by_id and "this process remembered" in by_id.message
    assert "stable_id=True" in by_id.message

    @functools.lru_cache
    def cached(failed: ShipmentFailed) -> PaymentRefunded:  # equal events hit the cache
        return refund(failed, stable=False)

    remembered = check_refund(cached)
    assert not remembered and "functools.lru_cache" in remembered.message
    assert check_refund(functools.lru_cache(refund))  # stable as well as cached: right


def test_the_refund_check_accepts_an_id_derived_another_stable_way() -> None:
    def own_derivation(failed: ShipmentFailed) -> PaymentRefunded:
        made = refund(failed).model_dump(exclude={"id"})
        return PaymentRefunded(**made, id=uuid.uuid5(uuid.NAMESPACE_URL, f"refund/{failed.id}"))

    assert check_refund(own_derivation)


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


def test_the_unsettled_check_says_sort_it_and_tries_a_shuffle() -> None:
    def unsorted(events):  # type: ignore[no-untyped-def]
        paid = {e.order_id for e in events if isinstance(e, PaymentSuccessful)}
        done = {e.order_id for e in events if isinstance(e, (OrderShipped, PaymentRefunded))}
        return sorted(paid - done, reverse=True)

    backwards = check_unsettled(unsorted)
    assert not backwards and "but not sorted" in backwards.message
    assert "sort it" in backwards.message

    def grouped(events):  # type: ignore[no-untyped-def]
        # decides per run of one order's events: right while each order's events come
        # together (in order, or newest first), wrong once they are shuffled
        unsettled = set()
        for order, run in itertools.groupby(events, key=lambda e: getattr(e, "order_id", "")):
            found = list(run)
            paid = any(isinstance(e, PaymentSuccessful) for e in found)
            if paid and not any(isinstance(e, (OrderShipped, PaymentRefunded)) for e in found):
                unsettled.add(order)
        return sorted(unsettled)

    shuffled = check_unsettled(grouped)
    assert not shuffled and "with the events shuffled" in shuffled.message
    assert "need not come together" in shuffled.message
