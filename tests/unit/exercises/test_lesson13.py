"""Lesson 13's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib import BrokerUnavailable
from eda_lib.brokers.base import BrokerError
from eda_lib.domain import PaymentSuccessful
from eda_lib.domain.services import AnalyticsDashboard
from eda_lib.exercises.lesson13 import check_cases_catch_mutants, check_idempotent_dashboard
from eda_lib.testing import Case


def pay(amount: int) -> PaymentSuccessful:
    return PaymentSuccessful(payment_id="p", order_id="o", amount=amount, currency="usd")


async def test_the_table_must_catch_every_broken_handler() -> None:
    weak = [Case("small", pay(5)), Case("large", pay(90_000), ("LargePaymentFlagged",))]
    boundary = Case("edge", pay(20_000), ("LargePaymentFlagged",))
    outage = Case("down", pay(90_000), producer_down=True, raises=BrokerUnavailable)
    verdict = await check_cases_catch_mutants(weak)
    assert not verdict and "off by one at the threshold" in verdict.message
    assert "swallows an outage" in verdict.message and "never flags" not in verdict.message
    assert "swallows" in (await check_cases_catch_mutants([*weak, boundary])).message
    assert await check_cases_catch_mutants([*weak, boundary, outage])
    for vague in (Exception, BaseException, BrokerError):  # what any broker error satisfies
        loose = Case("down", pay(90_000), producer_down=True, raises=vague)
        refused = await check_cases_catch_mutants([*weak, boundary, loose])
        assert not refused and f"raises={vague.__name__}" in refused.message, vague
    no_small = await check_cases_catch_mutants([boundary, outage])
    assert not no_small and "flags small payments too" in no_small.message
    one = await check_cases_catch_mutants([Case("large", pay(90_000), ("LargePaymentFlagged",))])
    assert "your one case also passes on a handler that" in one.message
    forgot = await check_cases_catch_mutants([Case("down", pay(90_000), producer_down=True)])
    assert "should say raises=BrokerUnavailable" in forgot.message
    wrong = await check_cases_catch_mutants([Case("says small is flagged", pay(5), ("X",))])
    assert not wrong and "on the right handler" in wrong.message
    assert "expected a list of Case" in (await check_cases_catch_mutants("cases")).message


def test_the_dashboard_must_count_each_payment_once() -> None:
    class Idempotent(AnalyticsDashboard):
        def __init__(self) -> None:
            super().__init__()
            self.applied: set[object] = set()

        def handle(self, event: PaymentSuccessful) -> None:
            if event.id not in self.applied:
                self.applied.add(event.id)
                super().handle(event)

    class ForgetsAfterTwo(Idempotent):  # remembers only the last two ids: a subtler bug
        def handle(self, event: PaymentSuccessful) -> None:
            super().handle(event)
            if len(self.applied) > 2:
                self.applied.pop()

    class SharedMemory(AnalyticsDashboard):  # one set for every dashboard: wrong after the first
        applied: set[object] = set()  # noqa: RUF012

        def handle(self, event: PaymentSuccessful) -> None:
            if event.id not in self.applied:
                self.applied.add(event.id)
                super().handle(event)

    class ByAmount(Idempotent):  # two payments of the same amount are still two payments
        def handle(self, event: PaymentSuccessful) -> None:
            if event.amount not in self.applied:
                self.applied.add(event.amount)
                AnalyticsDashboard.handle(self, event)

    class ByIdentity(AnalyticsDashboard):  # Python's id(): a redelivery is a new object
        def __init__(self) -> None:
            super().__init__()
            self.applied: set[int] = set()

        def handle(self, event: PaymentSuccessful) -> None:
            if id(event) not in self.applied:
                self.applied.add(id(event))
                super().handle(event)

    class ByOrder(AnalyticsDashboard):  # one order may be paid in two payments
        def __init__(self) -> None:
            super().__init__()
            self.applied: set[str] = set()

        def handle(self, event: PaymentSuccessful) -> None:
            if event.order_id not in self.applied:
                self.applied.add(event.order_id)
                super().handle(event)

    assert check_idempotent_dashboard(Idempotent)
    by_identity = check_idempotent_dashboard(ByIdentity)
    assert not by_identity and "id()" in by_identity.message
    assert "1 payments" not in by_identity.message  # "1 payment"
    assert "delivering p0, p1 " in check_idempotent_dashboard(ByOrder).message
    plain = check_idempotent_dashboard(AnalyticsDashboard)
    assert not plain and "delivering p0, p0 " in plain.message and "not 1" in plain.message
    assert "applied again" in plain.message
    assert "a set made in __init__" not in plain.message  # the way, not the answer
    for undercounting in (ByOrder, ByAmount, SharedMemory):
        refused = check_idempotent_dashboard(undercounting)
        assert "skipped a payment it had not applied" in refused.message, undercounting
    assert not check_idempotent_dashboard(ForgetsAfterTwo)
    assert not check_idempotent_dashboard(SharedMemory)
    assert "delivering p0, p1 " in check_idempotent_dashboard(ByAmount).message
    assert "subclass of AnalyticsDashboard" in check_idempotent_dashboard(dict).message
