"""Self-checking exercises of lesson 14 (event processors): a stateless step that converts payments
to US dollars with a table of rates, sliding windows counted by hand, checked against
`eda_lib.processing`, and the repartitioning step that lets one processor per partition count
each currency whole."""

from __future__ import annotations

import inspect
import random
from collections import Counter
from datetime import timedelta
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import COURSE_START
from eda_lib.codecs import decode_message
from eda_lib.domain.payments import PaymentSuccessful, format_money
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.messaging import Producer
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
                _usd_hint(payment, out, expected),
            )
        if out.id == payment.id:
            return fail(
                f"{payment.money} came back as the very same event (the same id), not as a "
                "converted one",
                "make a new event for USD too: event.revised(...) with the rate 1.0, as for "
                "the other currencies",
            )
        if out.payment_id != payment.payment_id or out.order_id != payment.order_id:
            return fail(
                f"the converted payment has payment_id {out.payment_id!r} and order_id "
                f"{out.order_id!r}; the original's are {payment.payment_id!r} and "
                f"{payment.order_id!r}: it is the same payment in another currency",
                "change only the amount and the currency; revised(...) keeps the rest",
            )
        if out.causation_id != payment.id:
            return fail(
                "the converted payment lost its link to the original (its causation id)",
                "use event.revised(...), which records the original as its cause",
            )
    try:
        dropped = step(_paid(1_000, "JPY", 4))
    except Exception as error:
        return fail(
            f"a JPY payment made it raise {type(error).__name__}",
            "enrich drops what the table lacks",
        )
    if dropped is not None:
        return fail("a JPY payment (no rate) was passed on", "drop it: return None")
    return Check(
        True,
        "EUR, GBP and USD converted with the table, as new events of the same payments; "
        "JPY dropped",
    )


def _usd_hint(payment: PaymentSuccessful, out: PaymentSuccessful, expected: int) -> str:
    """Points the way from what went wrong, without writing the formula down."""
    if (out.amount, out.currency) == (payment.amount, payment.currency):
        return (
            "nothing was converted: look the payment's currency up in RATES (enrich's key=) "
            "and build a payment in US dollars with the rate found (build=)"
        )
    if out.currency != "USD":
        return "the converted payment is in US dollars: its currency is 'USD'"
    if out.amount == payment.amount and payment.currency != "USD":
        return "the amount was not converted: use the rate that enrich looks up for the currency"
    if abs(out.amount - expected) == 1:
        return "round to the nearest whole cent: cutting the fraction off (int) or up is not it"
    return (
        "RATES gives US dollars per unit of the currency, and amounts are in cents: "
        "the USD amount is the original's, in cents, converted at that rate"
    )


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
    every multiple of `every` (`size` a multiple of `every`, as `Sliding` requires); keys are
    window starts, and only windows with events appear."""
    rng = random.Random(14)
    samples = [([1.0, 4.0, 9.0, 13.0], 10.0, 5.0), ([0.0, 30.0], 60.0, 20.0)]
    samples.append(([1.0, 50.0], 10.0, 5.0))  # a gap: the windows between hold nothing
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
    return Check(
        True,
        f"your sliding windows match eda_lib.processing.Sliding on all {len(samples)} samples, "
        "a gap between events included",
    )


def _sliding_hint(missing: dict[float, int], extra: dict[float, int], every: float) -> str:
    if extra and not missing and not any(extra.values()):
        return "leave out the windows with no events: only windows holding one or more appear"
    if any(start < 0 for start in missing):
        return "windows may start before 0: an event at 1 s is also in the window starting at -5"
    if any(start % every for start in extra):
        return "window starts are multiples of `every`: use math.floor(t / every) * every"
    return (
        "an event at t is in the window starting at floor(t / every) * every, and in each one "
        "`every` earlier while its start is still > t - size"
    )


REPARTITION_TOPIC = "payments-by-currency"
"""Exercise 3's intermediate topic: two partitions, keyed by what the processors count."""

# Exercise 3's payments: three currencies over two minutes, eight a minute. Keyed by order id, by
# payment id, or by amount, five of the six (currency, minute) counts land on both partitions.
_REPARTITION_CASES = (
    *("EUR", "GBP", "USD", "USD", "GBP", "USD", "USD", "USD"),  # 09:00
    *("GBP", "EUR", "EUR", "USD", "EUR", "GBP", "USD", "GBP"),  # 09:01
)


def _repartition_payments() -> list[PaymentSuccessful]:
    return [
        PaymentSuccessful(
            payment_id=f"pay-{n}",
            order_id=f"o-{n}",
            amount=500 * n,
            currency=currency,
            occurred_at=COURSE_START + timedelta(seconds=7.5 * (n - 1)),
        )
        for n, currency in enumerate(_REPARTITION_CASES, start=1)
    ]


def _minute(payment: PaymentSuccessful) -> tuple[str, str]:
    return payment.currency, f"{payment.occurred_at:%H:%M}"


async def check_repartition(repartition: Any) -> Check:
    """Lesson 14, exercise 3: `repartition(payment, producer)` sends the payment to
    `payments-by-currency` (two partitions) keyed so that a processor per partition counts each
    currency per minute whole: every payment arrives once, unchanged, every (currency, minute)
    on one partition, and not everything under one key."""
    if not callable(repartition):
        return fail(f"expected an async function, got {repartition!r:.60}", "define it with def")
    payments = _repartition_payments()
    broker = InMemoryBroker(seed=14)  # unkeyed payments go where this seed says: the same each run
    await broker.create_topic(REPARTITION_TOPIC, partitions=2)
    producer = Producer(broker, "repartition")
    for payment in payments:
        try:
            result = repartition(payment, producer)
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            return crashed(
                error,
                f"send with `await producer.send({REPARTITION_TOPIC!r}, payment, key=...)`; the "
                "topic exists, with two partitions",
            )
    placed: dict[str, list[tuple[int, bytes | None]]] = {}
    for partition in (0, 1):
        for record in await broker.read(REPARTITION_TOPIC, partition, limit=1000):
            event = decode_message(record.value, record.headers)
            if not isinstance(event, PaymentSuccessful):
                return fail(
                    f"a {type(event).__name__} arrived on {REPARTITION_TOPIC}",
                    "send the payment itself: its value does not change, only its key",
                )
            placed.setdefault(event.payment_id, []).append((partition, record.key))
            original = next((p for p in payments if p.payment_id == event.payment_id), None)
            if original is None or _minute(event) != _minute(original):
                return fail(
                    f"payment {event.payment_id} arrived changed (currency {event.currency}, "
                    f"at {event.occurred_at:%H:%M:%S})",
                    "send the payment as it is: only its key changes",
                )
    problem = _arrivals(payments, placed)
    if problem is not None:
        return problem
    return _placement(payments, placed)


def _arrivals(
    payments: list[PaymentSuccessful], placed: dict[str, list[tuple[int, bytes | None]]]
) -> Check | None:
    """A refusal when a payment is missing or arrived more than once."""
    if not placed:
        return fail(
            f"no payment arrived on {REPARTITION_TOPIC}",
            "send each payment there with `await producer.send(...)` (without await nothing is "
            "sent)",
        )
    missing = [p.payment_id for p in payments if p.payment_id not in placed]
    if missing:
        return fail(
            f"{len(missing)} of {len(payments)} payments never arrived ({', '.join(missing[:3])})",
            "send every payment: a repartition drops nothing, whatever its currency",
        )
    twice = [pid for pid, places in placed.items() if len(places) > 1]
    if twice:
        return fail(
            f"{len(twice)} payments arrived more than once ({', '.join(twice[:3])}): each would "
            "be counted as often",
            "send each payment once",
        )
    return None


def _placement(
    payments: list[PaymentSuccessful], placed: dict[str, list[tuple[int, bytes | None]]]
) -> Check:
    """Refused unless every (currency, minute) sits on one partition, each currency's payments
    share one key, and there is more than one key."""
    per_partition: dict[tuple[str, str], Counter[int]] = {}
    for payment in payments:
        partition, _ = placed[payment.payment_id][0]
        per_partition.setdefault(_minute(payment), Counter())[partition] += 1
    keys = {key for places in placed.values() for _, key in places}
    split = {group: parts for group, parts in per_partition.items() if len(parts) > 1}
    if split:
        # The biggest split count first: the one a learner sees most clearly.
        (currency, minute), parts = max(split.items(), key=lambda item: sum(item[1].values()))
        shown = " and ".join(f"{n} on partition {p}" for p, n in sorted(parts.items()))
        return fail(
            f"{len(split)} of {len(per_partition)} (currency, minute) counts are split between "
            f"the two processors: {currency} {minute} is {shown}, so no processor counts the "
            f"true {sum(parts.values())}",
            _key_hint(payments, keys),
        )
    keys_of: dict[str, set[bytes | None]] = {}
    for payment in payments:
        keys_of.setdefault(payment.currency, set()).update(k for _, k in placed[payment.payment_id])
    several = sorted(c for c, used in keys_of.items() if len(used) > 1)
    if several:
        return fail(
            f"each minute's counts are whole, but {several[0]}'s payments went under "
            f"{len(keys_of[several[0]])} keys: two keys can land on two partitions (here the hash "
            f"may have kept them together), and on {REPARTITION_TOPIC} a count by currency over "
            "a longer window (an hour, a day) would be split",
            "key by the currency alone: all of one currency's payments then meet in one processor",
        )
    if len(keys) == 1:
        return fail(
            f"every payment was sent with the one key {next(iter(keys))!r}: the counts are "
            "whole, but all on one partition, so one processor does all the work",
            "key each payment by what the processors count, so that the currencies spread",
        )
    return Check(
        True,
        f"each of the {len(payments)} payments arrived once on {REPARTITION_TOPIC}, unchanged, "
        f"under {len(keys)} keys, one per currency, so each currency meets in one processor "
        "and its counts are whole",
    )


def _key_hint(payments: list[PaymentSuccessful], keys: set[bytes | None]) -> str:
    """What the keys used were, and why they spread one currency over both partitions."""
    if keys == {None}:
        return (
            "the payments were sent without a key, so the broker spread them: give each the key "
            "that all payments of one currency share"
        )
    if keys == {p.order_id.encode() for p in payments}:
        return (
            "the payments kept their key, the order id (producer.send uses the event's own key "
            "unless told otherwise): pass key=... with what the processors count"
        )
    if keys == {p.payment_id.encode() for p in payments}:
        return (
            "keyed by payment id, every payment is a key of its own, spread over both "
            "partitions: key by what the processors count"
        )
    return "all payments of one currency must share one key: key by what the processors count"
