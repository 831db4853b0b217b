"""Lesson 02's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib import Consumer
from eda_lib.exercises.lesson00 import check_invalid_event_is_refused
from eda_lib.exercises.lesson01 import check_large_payment_flagger, check_payment_for_99_95_eur
from eda_lib.exercises.lesson02 import (
    check_audit_group,
    check_award_once,
    check_catch_up_capacity,
    check_useful_members,
)
from tests.contract.broker import payment


def test_award_once() -> None:
    def once(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.id not in seen:
                seen.add(event.id)
                points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def every_time(points):  # type: ignore[no-untyped-def]
        def award(event):  # type: ignore[no-untyped-def]
            points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def by_identity(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if id(event) not in seen:
                seen.add(id(event))
                points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def by_amount(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if (event.order_id, event.amount) not in seen:
                seen.add((event.order_id, event.amount))
                points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def by_payment(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.payment_id not in seen:
                seen.add(event.payment_id)
                points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def in_fractions(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.id not in seen:
                seen.add(event.id)
                points[event.order_id] = points.get(event.order_id, 0) + event.amount / 100

        return award

    assert check_award_once(once)
    assert "whole unit" in repr(check_award_once(in_fractions))
    assert check_award_once(by_payment)  # a payment's repeats share its payment id too
    assert "repeats" in repr(check_award_once(every_time))
    assert "repeats" in repr(check_award_once(by_identity))
    assert "same amount" in repr(check_award_once(by_amount))
    assert "raised" in repr(check_award_once(lambda points: None))


async def test_checks_refuse_wrong_answers_and_accept_right_ones() -> None:
    assert not await check_catch_up_capacity(11)
    assert not await check_catch_up_capacity(13)  # works, but is not the smallest
    assert await check_catch_up_capacity(12)
    assert not await check_useful_members(5)
    assert await check_useful_members(4)
    assert not await check_large_payment_flagger(lambda e: False)
    assert not await check_large_payment_flagger(lambda e: e.amount > 100_000)
    assert not await check_large_payment_flagger(lambda e: 1 / 0)
    assert await check_large_payment_flagger(lambda e: e.amount >= 100_000)
    assert not check_payment_for_99_95_eur(payment(1))
    assert check_payment_for_99_95_eur(payment(1, order="order-7").revised(amount=9995))
    assert not check_invalid_event_is_refused(lambda: payment(1))
    refused = check_invalid_event_is_refused(lambda: payment(1).revised(amount=-5))
    assert refused and "refused with a clear reason" in refused.message
    assert "raised ZeroDivisionError" in check_invalid_event_is_refused(lambda: 1 / 0).message
    typo = check_invalid_event_is_refused(lambda: payment(1).revised(amout=5))
    assert typo, "an unknown field is refused by the event too"
    assert "the event was built" in check_invalid_event_is_refused(lambda: None).message
    for wrong in (payment(1, order="order-7"), payment(1).revised(amount=9995)):
        assert not check_payment_for_99_95_eur(wrong)  # the wrong amount, or the wrong order
    assert "expected a PaymentSuccessful" in check_payment_for_99_95_eur({"amount": 9995}).message
    assert not await check_useful_members(3) and not await check_useful_members(6)
    assert not await check_catch_up_capacity(0)


async def test_audit_check_needs_a_new_group_that_reads_everything() -> None:
    async def nothing(broker):
        return []

    async def right(broker):
        seen: list[str] = []
        audit = Consumer(
            broker, "audit", "payments", lambda e: seen.append(e.payment_id), start="earliest"
        )
        await audit.start()
        await audit.run()
        return seen

    assert not await check_audit_group(nothing)
    assert await check_audit_group(right)
    assert "✓" in repr(await check_audit_group(right))
    assert "Hint" in repr(await check_audit_group(nothing))
