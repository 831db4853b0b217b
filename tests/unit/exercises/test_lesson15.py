"""Lesson 15's exercise checks pass the solutions, and refuse typical mistakes with the hint
that fits."""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from eda_lib.domain.orders import OrderCancelled, OrderShipped
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises.lesson15 import check_refund, check_refund_policy, check_unsettled
from eda_lib.shop import PaymentRefunded, ShipmentFailed
from eda_lib.shop.orchestrator import (
    MAX_REFUND_ATTEMPTS,
    RefundDeclined,
    Saga,
    SagaEnded,
    SagaParked,
)
from eda_lib.shop.orchestrator import retry_then_park as library_policy


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


def retry_then_park(saga: Saga, declined: RefundDeclined) -> Event:
    if saga.attempt < MAX_REFUND_ATTEMPTS:
        return saga.command("refund", attempt=saga.attempt + 1, note=saga.note)
    return saga.park(f"refund declined {saga.attempt} times: {declined.reason}")


def test_the_refund_policy_check_wants_bounded_counted_retries_then_a_parked_saga() -> None:
    assert check_refund_policy(retry_then_park)
    assert check_refund_policy(library_policy)  # the orchestrator's own
    assert not check_refund_policy("not a function")
    nothing = check_refund_policy(lambda saga, declined: None)
    assert not nothing and "returned None" in nothing.message
    at_once = check_refund_policy(lambda saga, declined: saga.park(declined.reason))
    assert not at_once and "would have been paid" in at_once.message
    forever = check_refund_policy(
        lambda saga, declined: saga.command("refund", attempt=saga.attempt + 1, note=saga.note)
    )
    assert not forever and "retried for ever" in forever.message
    uncounted = check_refund_policy(lambda saga, declined: saga.command("refund", note=saga.note))
    assert not uncounted and "attempt=saga.attempt + 1" in uncounted.message
    cancels = check_refund_policy(lambda saga, declined: saga.command("cancel", note="sorry"))
    assert not cancels and "customer loses it" in cancels.message
    ends = check_refund_policy(
        lambda saga, declined: SagaEnded(order_id=saga.id, outcome="refunded")
    )
    assert not ends and "money still owed" in ends.message
    charges = check_refund_policy(lambda saga, declined: saga.command("charge"))
    assert not charges and "'charge' command" in charges.message


def test_the_refund_policy_check_counts_the_attempts_and_wants_the_banks_reason() -> None:
    def bounded(limit: int, reason: str = "") -> Callable[[Saga, RefundDeclined], Event]:
        def policy(saga: Saga, declined: RefundDeclined) -> Event:
            if saga.attempt < limit:
                return saga.command("refund", attempt=saga.attempt + 1, note=saga.note)
            return saga.park(reason or declined.reason)

        return policy

    one_more = check_refund_policy(bounded(MAX_REFUND_ATTEMPTS + 1))
    assert not one_more and f"parked after {MAX_REFUND_ATTEMPTS + 1} attempts" in one_more.message
    one_fewer = check_refund_policy(bounded(MAX_REFUND_ATTEMPTS - 1))
    assert not one_fewer and "would have been paid" in one_fewer.message
    assert check_refund_policy(bounded(MAX_REFUND_ATTEMPTS))
    vague = check_refund_policy(bounded(MAX_REFUND_ATTEMPTS, reason="too many declines"))
    assert not vague and "declined.reason" in vague.message

    def raises(saga: Saga, declined: RefundDeclined) -> Event:
        raise RuntimeError("boom")

    crashed = check_refund_policy(raises)
    assert not crashed and "RuntimeError: boom" in crashed.message


def test_the_refund_policy_check_wants_the_note_the_order_and_the_count_kept_in_the_saga() -> None:
    def retrying(note: Callable[[Saga, RefundDeclined], str]) -> Any:
        def policy(saga: Saga, declined: RefundDeclined) -> Event:
            if saga.attempt < MAX_REFUND_ATTEMPTS:
                return saga.command("refund", attempt=saga.attempt + 1, note=note(saga, declined))
            return saga.park(f"declined: {declined.reason}")

        return policy

    no_note = check_refund_policy(retrying(lambda saga, declined: ""))
    assert not no_note and "note=saga.note" in no_note.message
    banks_note = check_refund_policy(retrying(lambda saga, declined: declined.reason))
    assert not banks_note and "would lose why" in banks_note.message

    tries: dict[str, int] = {}

    def own_memory(saga: Saga, declined: RefundDeclined) -> Event:  # forgets on a restart
        tries[saga.id] = tries.get(saga.id, 1) + 1
        if tries[saga.id] <= MAX_REFUND_ATTEMPTS:
            return saga.command("refund", attempt=tries[saga.id], note=saga.note)
        return saga.park(f"declined: {declined.reason}")

    forgets = check_refund_policy(own_memory)
    assert not forgets and "rebuilt from its log at attempt 2" in forgets.message

    def parks(**wrong: str) -> Any:
        def policy(saga: Saga, declined: RefundDeclined) -> Event:
            if saga.attempt < MAX_REFUND_ATTEMPTS:
                return saga.command("refund", attempt=saga.attempt + 1, note=saga.note)
            fields = {"order_id": saga.id, "step": "refund", "attempts": saga.attempt}
            return SagaParked(**(fields | wrong), reason=f"declined: {declined.reason}")

        return policy

    assert check_refund_policy(parks())  # built by hand, right: accepted
    other_order = check_refund_policy(parks(order_id="somebody-else"))
    assert not other_order and "look at the wrong thing" in other_order.message
    other_step = check_refund_policy(parks(step="ship"))
    assert not other_step and "ship step" in other_step.message
