"""Self-checking exercises of lesson 14 (event processors): a stateless step that converts payments
to US dollars with a table of rates, and sliding windows counted by hand, checked against
`eda_lib.processing`."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from eda_lib.clock import COURSE_START
from eda_lib.domain.payments import PaymentSuccessful, format_money
from eda_lib.exercises.checks import Check, fail
from eda_lib.processing import Sliding

RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}
"""US dollars per unit of each currency, as the lesson's table has them."""


def _paid(amount: int, currency: str, n: int = 1) -> PaymentSuccessful:
    return PaymentSuccessful(payment_id=f"p{n}", order_id=f"o{n}", amount=amount, currency=currency)


def check_usd_step(step: Any) -> Check:
    """Lesson 14, exercise 1: a step that passes on each payment converted to USD (the amount
    times the rate, rounded to whole cents) and drops a payment whose currency has no rate."""
    if not callable(step):
        return fail(f"expected a step (a function of one event), got {step!r}", "use enrich(...)")
    cases = [
        (_paid(10_000, "EUR"), 10_800),
        (_paid(333, "EUR", 2), 360),  # 359.64 cents: rounded, not cut
        (_paid(501, "GBP", 3), 636),
        (_paid(700, "USD", 4), 700),
    ]
    for payment, expected in cases:
        try:
            out = step(payment)
        except Exception as error:
            return fail(
                f"on {payment.money} it raised {type(error).__name__}: {error}", "see the error"
            )
        if not isinstance(out, PaymentSuccessful):
            return fail(
                f"on {payment.money} it returned {out!r:.80}", "return payment.revised(...)"
            )
        if (out.amount, out.currency) != (expected, "USD"):
            return fail(
                f"{payment.money} became {out.money}; expected {format_money(expected, 'USD')}",
                "amount=round(event.amount * rate), currency='USD'",
            )
        if out.causation_id != payment.id or out.order_id != payment.order_id:
            return fail("the converted payment lost its link to the original", "use event.revised")
    try:
        dropped = step(_paid(1_000, "JPY", 4))
    except Exception as error:
        return fail(
            f"a JPY payment made it raise {type(error).__name__}",
            "enrich drops what the table lacks",
        )
    if dropped is not None:
        return fail("a JPY payment (no rate) was passed on", "drop it: return None")
    return Check(True, "EUR, GBP and USD converted with the table, JPY dropped")


def _by_library(times: list[float], size: float, every: float) -> dict[float, int]:
    window = Sliding(timedelta(seconds=size), timedelta(seconds=every))
    counts: dict[float, int] = {}
    for t in times:
        for span in window.windows(COURSE_START + timedelta(seconds=t)):
            start = (span.start - COURSE_START).total_seconds()
            counts[start] = counts.get(start, 0) + 1
    return counts


def check_sliding_counts(function: Any) -> Check:
    """Lesson 14, exercise 2: `count_windows(times, size, every)` counts, by hand, how many of
    `times` (seconds) fall in each sliding window [start, start + size), windows starting at
    every multiple of `every`; keys are window starts, only windows with events appear."""
    rng = random.Random(14)
    samples = [([1.0, 4.0, 9.0, 13.0], 10.0, 5.0), ([0.0, 30.0], 60.0, 20.0)]
    samples.append(([round(rng.uniform(0, 120), 1) for _ in range(40)], 30.0, 10.0))
    for times, size, every in samples:
        expected = _by_library(times, size, every)
        try:
            got = function(list(times), size, every)
        except Exception as error:
            return fail(
                f"for {len(times)} times your code raised {type(error).__name__}: {error}",
                "see above",
            )
        if not isinstance(got, dict):
            return fail(
                f"it returned a {type(got).__name__}", "return a dict: window start -> count"
            )
        got = {float(k): v for k, v in got.items()}
        if got != expected:
            shown = times if len(times) <= 4 else f"{len(times)} times"
            missing = {k: v for k, v in expected.items() if got.get(k) != v}
            extra = {k: v for k, v in got.items() if expected.get(k) != v}
            return fail(
                f"for {shown}, size {size:g}, every {every:g}: expected but not given "
                f"{dict(sorted(missing.items()))}; given but wrong {dict(sorted(extra.items()))}",
                _sliding_hint(missing, extra, every),
            )
    return Check(True, "your sliding windows match eda_lib.processing.Sliding on every sample")


def _sliding_hint(missing: dict[float, int], extra: dict[float, int], every: float) -> str:
    if any(start < 0 for start in missing):
        return "windows may start before 0: an event at 1 s is also in the window starting at -5"
    if any(start % every for start in extra):
        return "window starts are multiples of `every`: use math.floor(t / every) * every"
    return (
        "an event at t is in the window starting at floor(t / every) * every, and in each one "
        "`every` earlier while its start is still > t - size"
    )
