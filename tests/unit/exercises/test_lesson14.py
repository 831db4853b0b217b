"""Lesson 14's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import math
from typing import Any

from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.exercises.lesson14 import (
    RATES,
    check_repartition,
    check_sliding_counts,
    check_usd_step,
)
from eda_lib.messaging import Producer
from eda_lib.processing import enrich


def test_the_usd_step_check() -> None:
    right = enrich(
        RATES,
        lambda e: e.currency,
        lambda e, r: e.revised(amount=round(e.amount * r), currency="USD"),
    )
    assert check_usd_step(right)
    cut = enrich(
        RATES,
        lambda e: e.currency,
        lambda e, r: e.revised(amount=int(e.amount * r), currency="USD"),
    )
    assert "3.33 EUR became 3.59 USD; expected 3.60 USD" in check_usd_step(cut).message
    keeps_jpy = check_usd_step(
        lambda e: e.revised(amount=round(e.amount * RATES.get(e.currency, 1)), currency="USD")
    )
    assert not keeps_jpy and "JPY payment (no rate) was passed on" in keeps_jpy.message
    no_rate = check_usd_step(
        enrich(RATES, lambda e: e.currency, lambda e, r: e.revised(currency="USD"))
    )
    assert not no_rate and "expected 108.00 USD" in no_rate.message
    unchanged = check_usd_step(lambda e: e)
    assert not unchanged and "became 100.00 EUR" in unchanged.message
    assert "nothing was converted" in unchanged.message
    assert "round(" not in unchanged.message  # the hint points the way, not the formula
    assert not check_usd_step(lambda e: None)


def test_the_usd_step_check_wants_a_new_event_of_the_same_payment() -> None:
    def convert(e, r):  # type: ignore[no-untyped-def]
        return e.revised(amount=round(e.amount * r), currency="USD")

    usd_as_is = check_usd_step(
        enrich(
            RATES, lambda e: e.currency, lambda e, r: e if e.currency == "USD" else convert(e, r)
        )
    )
    assert not usd_as_is and "very same event" in usd_as_is.message
    assert "make a new event for USD too" in usd_as_is.message
    new_payment = check_usd_step(
        enrich(
            RATES,
            lambda e: e.currency,
            lambda e, r: e.follow_up(
                PaymentSuccessful,
                payment_id="new",
                order_id=e.order_id,
                amount=round(e.amount * r),
                currency="USD",
            ),
        )
    )
    assert not new_payment and "payment_id 'new'" in new_payment.message
    unlinked = check_usd_step(
        enrich(
            RATES,
            lambda e: e.currency,
            lambda e, r: PaymentSuccessful(
                payment_id=e.payment_id,
                order_id=e.order_id,
                amount=round(e.amount * r),
                currency="USD",
            ),
        )
    )
    assert not unlinked and "lost its link" in unlinked.message


def test_the_sliding_counts_check() -> None:
    def sliding(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / every) * every
            while start > t - size:
                counts[start] = counts.get(start, 0) + 1
                start -= every
        return counts

    def tumbling(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / size) * size
            counts[start] = counts.get(start, 0) + 1
        return counts

    assert check_sliding_counts(sliding)
    wrong = check_sliding_counts(tumbling)
    assert not wrong and "expected but not given {-5.0: 2, 5.0: 2}" in wrong.message
    assert "start before 0" in wrong.message
    assert (
        "return a dict"
        in check_sliding_counts(lambda t, s, e: list(sliding(t, s, e).items())).message
    )

    def reaching_too_far(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / every) * every
            while start >= t - size:  # one window too many when t - size is a window start
                counts[start] = counts.get(start, 0) + 1
                start -= every
        return counts

    assert not check_sliding_counts(reaching_too_far)

    def with_empty_windows(times: list[float], size: float, every: float) -> dict[float, int]:
        # every window from the first that can hold min(times) to the last, empty ones too
        start = math.floor(min(times) / every) * every - size + every
        counts: dict[float, int] = {}
        while start <= max(times):
            counts[start] = sum(start <= t < start + size for t in times)
            start += every
        return counts

    empty = check_sliding_counts(with_empty_windows)
    assert not empty and "[1.0, 50.0]" in empty.message and "leave out the windows" in empty.message


def _sender(key: Any, topic: str = "payments-by-currency", times: int = 1) -> Any:
    """A repartition step that sends each payment `times` times to `topic` with `key(payment)`."""

    async def repartition(payment: PaymentSuccessful, producer: Producer) -> None:
        for _ in range(times):
            await producer.send(topic, payment, key=key(payment))

    return repartition


async def test_the_repartition_check_accepts_the_currency_and_refuses_minute_keys() -> None:
    right = await check_repartition(_sender(lambda p: p.currency))
    assert right and "one per currency" in right.message
    # Each (currency, minute) stays whole under these keys here, but one currency goes under
    # two keys, which may land on two partitions: a longer window would split again.
    for key in (lambda p: f"{p.currency} {p.occurred_at:%H:%M}", lambda p: f"{p.occurred_at:%M}"):
        finer = await check_repartition(_sender(key))
        assert not finer and "went under 2 keys" in finer.message
        assert "key by the currency alone" in finer.message


async def test_the_repartition_check_refuses_keys_that_split_a_count() -> None:
    async def old_key(payment: PaymentSuccessful, producer: Producer) -> None:
        await producer.send("payments-by-currency", payment)  # the event's own key: order id

    kept = await check_repartition(old_key)
    assert not kept and "USD 09:00 is 4 on partition 0 and 1 on partition 1" in kept.message
    assert "kept their key, the order id" in kept.message
    assert "payment.currency" not in kept.message  # the hint points the way, not the answer
    by_payment = await check_repartition(_sender(lambda p: p.payment_id))
    assert not by_payment and "keyed by payment id" in by_payment.message
    unkeyed = await check_repartition(_sender(lambda p: None))
    assert not unkeyed and "without a key" in unkeyed.message
    by_amount = await check_repartition(_sender(lambda p: str(p.amount)))
    assert not by_amount and "split between the two processors" in by_amount.message
    one_key = await check_repartition(_sender(lambda p: "all"))
    assert not one_key and "one processor does all the work" in one_key.message


async def test_the_repartition_check_wants_each_payment_once_on_the_topic() -> None:
    elsewhere = await check_repartition(_sender(lambda p: p.currency, topic="payments"))
    assert not elsewhere and "UnknownTopic" in elsewhere.message
    twice = await check_repartition(_sender(lambda p: p.currency, times=2))
    assert not twice and "more than once" in twice.message

    async def not_awaited(payment: PaymentSuccessful, producer: Producer) -> None:
        producer.send("payments-by-currency", payment, key=payment.currency).close()

    nothing = await check_repartition(not_awaited)
    assert not nothing and "without await nothing is sent" in nothing.message

    async def usd_only(payment: PaymentSuccessful, producer: Producer) -> None:
        if payment.currency == "USD":
            await producer.send("payments-by-currency", payment, key=payment.currency)

    dropped = await check_repartition(usd_only)
    assert not dropped and "9 of 16 payments never arrived" in dropped.message

    async def converted(payment: PaymentSuccessful, producer: Producer) -> None:
        usd = payment.revised(currency="USD")
        await producer.send("payments-by-currency", usd, key=usd.currency)

    changed = await check_repartition(converted)
    assert not changed and "arrived changed" in changed.message
