"""Lesson 02's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from eda_lib import Consumer
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.exercises.lesson00 import check_invalid_event_is_refused
from eda_lib.exercises.lesson01 import check_large_payment_flagger, check_payment_for_99_95_eur
from eda_lib.exercises.lesson02 import (
    check_audit_group,
    check_award_once,
    check_catch_up_capacity,
    check_useful_members,
)
from eda_lib.explorer import events
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
    assert await check_catch_up_capacity(11)  # (42 + 60) / 10 = 10.2, rounded up
    floor = await check_catch_up_capacity(10)  # (42 + 60) // 10: rounded down, 2 are left
    assert not floor and "round up" in floor.message
    assert not await check_catch_up_capacity(12)  # works, but is not the smallest
    assert not await check_useful_members(5)
    assert await check_useful_members(4)
    as_text = await check_useful_members("4")  # type: ignore[arg-type]
    assert not as_text and "'4' is a str" in as_text.message and "no quotes" in as_text.message
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


def test_award_once_gets_a_counter_as_award_points_uses() -> None:
    def with_plus_equals(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.id not in seen:
                seen.add(event.id)
                points[event.order_id] += event.amount // 100  # as award_points does

        return award

    def by_time(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.time not in seen:
                seen.add(event.time)
                points[event.order_id] += event.amount // 100

        return award

    assert check_award_once(with_plus_equals)
    assert "time" in repr(check_award_once(by_time))  # two payments can share a moment


async def test_audit_check_needs_a_new_group_that_reads_everything() -> None:
    async def nothing(broker):
        return []

    async def right(broker):  # the notebook's solution
        seen: list[str] = []
        async with Consumer(
            broker,
            "audit",
            "payments",
            lambda e: seen.append(e.payment_id),
            name="audit-1",
            start="earliest",
        ) as audit:
            await audit.run()
        return seen

    def auditing(
        group: str = "audit",
        start: Literal["earliest", "latest"] = "earliest",
        field: str = "payment_id",
        runs: bool = True,
        max_events: int | None = None,
    ) -> Callable[[InMemoryBroker], Awaitable[list[Any]]]:
        async def add_audit(broker: InMemoryBroker) -> list[Any]:
            seen: list[Any] = []
            audit = Consumer(
                broker, group, "payments", lambda e: seen.append(getattr(e, field)), start=start
            )
            await audit.start()
            if runs:
                await audit.run(max_events=max_events)
            return seen

        return add_audit

    async def ids_from_the_explorer(broker: InMemoryBroker) -> list[str]:
        return [e.payment_id for e in await events(broker, "payments")]

    def joins_then_reads_elsewhere(
        start: Literal["earliest", "latest"], runs: bool
    ) -> Callable[[InMemoryBroker], Awaitable[list[str]]]:
        """An audit group that reads nothing itself, and ids read by the explorer."""

        async def add_audit(broker: InMemoryBroker) -> list[str]:
            audit = Consumer(broker, "audit", "payments", lambda e: None, start=start)
            await audit.start()
            if runs:
                await audit.run()
            return await ids_from_the_explorer(broker)

        return add_audit

    async def forgets_to_return(broker: InMemoryBroker) -> Any:
        await auditing()(broker)

    async def raises(broker: InMemoryBroker) -> list[str]:
        raise RuntimeError("boom")

    assert await check_audit_group(auditing())
    passed = await check_audit_group(right)
    assert passed and "still has all 5 committed" in passed.message, passed.message
    assert "'audit' handled and committed all 5 payments itself" in passed.message
    assert "Hint" in repr(await check_audit_group(nothing))
    wrong = {
        "reuses the shipping group": (auditing("shipping"), "only one consumer group"),
        "starts at the end": (auditing(start="latest"), "saw nothing"),
        "never runs": (auditing(runs=False), "saw nothing"),
        "stops early": (auditing(max_events=2), "saw 2 of the 5 payments"),
        "notes the event ids": (auditing(field="id"), "expected the payment ids"),
        "notes the order ids": (auditing(field="order_id"), "expected the payment ids"),
        "returns nothing": (forgets_to_return, "returned None, not a list"),
        "raises": (raises, "raised RuntimeError: boom"),
        "reads with the explorer, in no group": (ids_from_the_explorer, "only one consumer group"),
        "a group at the end, ids from the explorer": (
            joins_then_reads_elsewhere("latest", runs=True),
            "group 'audit' handled 0 of the 5 payments itself",
        ),
        "a group never run, ids from the explorer": (
            joins_then_reads_elsewhere("earliest", runs=False),
            "group 'audit' handled 0 of the 5 payments itself",
        ),
    }
    for idea, (answer, why) in wrong.items():
        verdict = await check_audit_group(answer)
        assert not verdict.passed and why in verdict.message, (idea, verdict.message)
    latest = await check_audit_group(auditing(start="latest"))
    assert "start='earliest'" in latest.message
