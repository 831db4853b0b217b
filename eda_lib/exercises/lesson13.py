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
from eda_lib.exercises.checks import Check, delivered_again, fail
from eda_lib.testing import Case, RecordingProducer, Results, run_cases

THRESHOLD = 20_000


class _Watch:
    """LargePaymentWatch as lesson 13 tests it, with one bug switched on at a time."""

    def __init__(self, producer: RecordingProducer, bug: str = "") -> None:
        self.producer, self.bug = producer, bug

    async def handle(self, event: PaymentSuccessful) -> None:
        limit = 1 if self.bug == "flags everything" else THRESHOLD
        large = event.amount > limit if self.bug == "off by one" else event.amount >= limit
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
    "flags everything": "flags small payments too",
    "never flags": "never flags anything",
    "flags twice": "flags each payment twice",
    "swallows an outage": "swallows an outage (so nothing retries the alert)",
}


async def _run(cases: Sequence[Case], bug: str) -> Results:
    return await run_cases(lambda producer: _Watch(producer, bug).handle, cases)


async def check_cases_catch_mutants(cases: Any) -> Check:
    """Lesson 13, exercise 1: a table of `Case`s for the large-payment watch (threshold 20,000)
    that passes on the right handler and fails on each of the five broken ones in MUTANTS."""
    if not isinstance(cases, list | tuple) or not all(isinstance(c, Case) for c in cases):
        return fail(f"expected a list of Case, got {cases!r:.60}", "cases = [Case(...), ...]")
    right = await _run(cases, "")
    if not right:
        wrong = next(o for o in right.outcomes if not o.passed) if right.outcomes else None
        if wrong is None:
            return fail("the table is empty", "cases = [Case(...), ...]")
        hint = (
            "a case with producer_down=True and a large payment should say "
            "raises=BrokerUnavailable: the handler must raise so the consumer retries"
            if "raised BrokerUnavailable" in wrong.detail
            else "each case must hold for a correct watch (threshold 20,000, inclusive)"
        )
        return fail(f"on the right handler, '{wrong.name}': {wrong.detail}", hint)
    vague = next((c for c in cases if c.raises and c.raises is not BrokerUnavailable), None)
    if vague is not None and vague.raises and issubclass(BrokerUnavailable, vague.raises):
        return fail(
            f"'{vague.name}' expects raises={vague.raises.__name__}, which more errors than an "
            "outage satisfy: the case would pass on a handler that breaks for another reason "
            "(a bug's TypeError, say) instead of telling the consumer to retry",
            "name the error a send raises when the broker is down (section 2)",
        )
    survivors = [bug for bug in MUTANTS if await _run(cases, bug)]
    if survivors:
        return fail(
            (
                "your one case also passes"
                if len(cases) == 1
                else f"your {len(cases)} cases also pass"
            )
            + " on a handler that "
            + "; and on one that ".join(MUTANTS[bug] for bug in survivors),
            "add a case that tells it apart: a payment just below the threshold, the threshold "
            "itself (20,000), a large payment with the producer down "
            "(raises=BrokerUnavailable), how many events are published",
        )
    return Check(True, f"your {len(cases)} cases catch all {len(MUTANTS)} broken handlers")


def _payments(amounts: list[int]) -> list[PaymentSuccessful]:
    """Payments p0, p1, ...; p0 and p1 pay for one order (two instalments): an id is not an
    order."""
    return [
        PaymentSuccessful(
            payment_id=f"p{n}", order_id=f"o{max(n - 1, 0)}", amount=a, currency="usd"
        )
        for n, a in enumerate(amounts)
    ]


AMOUNTS = [1_200, 1_200, 990]  # two payments of the same amount: an id is not an amount


def _miscount(
    dashboard_class: Callable[[], Any], produced: list[PaymentSuccessful], deliveries: list[int]
) -> str:
    """What is wrong with the totals after `deliveries` (indices into `produced`), or ''."""
    dashboard = dashboard_class()
    for index in deliveries:  # each delivery decoded afresh, as a consumer meets it
        dashboard.handle(delivered_again(produced[index]))
    distinct = sorted(set(deliveries))
    count, revenue = len(distinct), sum(produced[i].amount for i in distinct)
    if dashboard.payments != count:
        return f"counted {_plural(dashboard.payments)}, not {count}"
    if dashboard.revenue["USD"] != revenue:
        return f"counted revenue {dashboard.revenue['USD']}, not {revenue}"
    return ""


def _plural(count: int) -> str:
    return f"{count} payment" if count == 1 else f"{count} payments"


def check_idempotent_dashboard(dashboard_class: Any) -> Check:
    """Lesson 13, exercise 2: an `AnalyticsDashboard` whose `handle` applies each payment once,
    however often it is delivered. A property test searches for deliveries that miscount
    (each dashboard fresh, the same payments every time) and shows the smallest it finds."""
    if not (isinstance(dashboard_class, type) and issubclass(dashboard_class, AnalyticsDashboard)):
        return fail(
            f"expected a subclass of AnalyticsDashboard, got {dashboard_class!r}", "see above"
        )
    produced = _payments(AMOUNTS)
    deliveries = st.lists(st.integers(0, len(AMOUNTS) - 1), max_size=12)
    try:
        found = find(
            deliveries,
            lambda d: bool(_miscount(dashboard_class, produced, d)),
            settings=settings(max_examples=300, database=None, derandomize=True),
        )
    except NoSuchExample:
        return Check(True, "no sequence of deliveries made it miscount (300 tried, each fresh)")
    except Exception as error:
        return fail(f"your dashboard raised {type(error).__name__}: {error}", "see the error")
    order = ", ".join(f"p{i}" for i in found) or "nothing"
    dashboard = dashboard_class()
    for index in found:
        dashboard.handle(delivered_again(produced[index]))
    revenue = sum(produced[i].amount for i in set(found))
    if dashboard.payments > len(set(found)) or dashboard.revenue["USD"] > revenue:
        hint = (
            "a payment delivered again was applied again: remember each payment applied, by "
            "what stays the same on every delivery (each delivery is a new object, so not id())"
        )
    else:
        hint = (
            "it skipped a payment it had not applied: remember what tells two payments apart "
            "(two may share an amount or an order; Python's id() names an object, not a "
            "payment, and is reused once that object is freed), in a memory of each dashboard's "
            "own"
        )
    return fail(
        f"delivering {order} (the smallest failing case found) "
        f"{_miscount(dashboard_class, produced, found)}",
        hint,
    )
