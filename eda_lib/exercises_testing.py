"""Self-checking exercises of lesson 13 (testing event-driven code): a table of cases that must
catch deliberately broken handlers (mutants), and a dashboard that must count each payment once
whatever is delivered again, checked with a property test that shrinks its counterexample."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from eda_lib.brokers.base import BrokerUnavailable
from eda_lib.domain.payments import LargePaymentFlagged, PaymentSuccessful
from eda_lib.domain.services import AnalyticsDashboard
from eda_lib.exercises import Check, _fail
from eda_lib.testing import Case, RecordingProducer, Results, run_cases

THRESHOLD = 20_000


class _Watch:
    """LargePaymentWatch as lesson 13 tests it, with one bug switched on at a time."""

    def __init__(self, producer: RecordingProducer, bug: str = "") -> None:
        self.producer, self.bug = producer, bug

    async def handle(self, event: PaymentSuccessful) -> None:
        large = event.amount > THRESHOLD if self.bug == "off by one" else event.amount >= THRESHOLD
        if not large or self.bug == "never flags":
            return
        flag = event.follow_up(
            LargePaymentFlagged, **event.data(), threshold=THRESHOLD
        )  # the same data, flagged
        try:
            await self.producer.send("alerts", flag)
            if self.bug == "flags twice":
                await self.producer.send("alerts", flag)
        except BrokerUnavailable:
            if self.bug != "swallows an outage":
                raise  # the consumer must retry: the alert was not sent


MUTANTS = {
    "off by one": "is off by one at the threshold",
    "never flags": "never flags anything",
    "flags twice": "flags each payment twice",
    "swallows an outage": "swallows an outage (so nothing retries the alert)",
}


async def _run(cases: Sequence[Case], bug: str) -> Results:
    return await run_cases(lambda producer: _Watch(producer, bug).handle, cases)


async def check_cases_catch_mutants(cases: Any) -> Check:
    """Lesson 13, exercise 1: a table of `Case`s for the large-payment watch (threshold 20,000)
    that passes on the right handler and fails on each of four broken ones."""
    if not isinstance(cases, list | tuple) or not all(isinstance(c, Case) for c in cases):
        return _fail(f"expected a list of Case, got {cases!r:.60}", "cases = [Case(...), ...]")
    right = await _run(cases, "")
    if not right:
        wrong = next(o for o in right.outcomes if not o.passed) if right.outcomes else None
        shown = f"'{wrong.name}': {wrong.detail}" if wrong else "the table is empty"
        return _fail(f"on the right handler, {shown}", "each case must hold for a correct watch")
    survivors = [bug for bug in MUTANTS if await _run(cases, bug)]
    if survivors:
        return _fail(
            f"your {len(cases)} cases also pass on a handler that "
            + "; and on one that ".join(MUTANTS[bug] for bug in survivors),
            "add a case that tells it apart: the threshold itself (20,000), a large payment "
            "with the producer down (raises=BrokerUnavailable), how many events are published",
        )
    return Check(True, f"your {len(cases)} cases catch all {len(MUTANTS)} broken handlers")


def _payments(amounts: list[int]) -> list[PaymentSuccessful]:
    return [
        PaymentSuccessful(payment_id=f"p{n}", order_id=f"o{n}", amount=a, currency="usd")
        for n, a in enumerate(amounts)
    ]


def _miscounts(
    dashboard_class: Callable[[], Any], deliveries: list[int], amounts: list[int]
) -> bool:
    produced = _payments(amounts)
    dashboard = dashboard_class()
    for index in deliveries:
        dashboard.handle(produced[index % len(produced)])
    return bool(dashboard.payments != len(produced) or dashboard.revenue["USD"] != sum(amounts))


def check_idempotent_dashboard(dashboard_class: Any) -> Check:
    """Lesson 13, exercise 2: an `AnalyticsDashboard` whose `handle` applies each payment once,
    however often it is delivered. A property test searches for deliveries that miscount and
    shows the smallest it finds."""
    if not (isinstance(dashboard_class, type) and issubclass(dashboard_class, AnalyticsDashboard)):
        return _fail(
            f"expected a subclass of AnalyticsDashboard, got {dashboard_class!r}", "see above"
        )
    amounts = [1_200, 4_500, 990]
    everything_once = list(range(len(amounts)))
    deliveries = st.lists(st.integers(0, len(amounts) - 1), max_size=12).map(
        lambda again: everything_once + again
    )
    try:
        found = find(
            deliveries,
            lambda d: _miscounts(dashboard_class, d, amounts),
            settings=settings(max_examples=300, database=None, derandomize=True),
        )
    except NoSuchExample:
        return Check(True, "no sequence of deliveries made it count a payment twice (300 tried)")
    except Exception as error:
        return _fail(f"your dashboard raised {type(error).__name__}: {error}", "see the error")
    dashboard = dashboard_class()
    produced = _payments(amounts)
    for index in found:
        dashboard.handle(produced[index])
    order = ", ".join(f"p{i}" for i in found)
    return _fail(
        f"delivering {order} (the smallest failing case found) counted {dashboard.payments} "
        f"payments, not {len(amounts)}",
        "remember the ids of the payments applied (a set) and skip a payment seen before",
    )
