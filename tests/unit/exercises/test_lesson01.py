"""Lesson 01's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.domain import PaymentSuccessful
from eda_lib.exercises.lesson01 import check_large_payment_flagger
from eda_lib.exercises.lesson11 import check_fraud_subscriber
from eda_lib.exercises.lesson12 import check_refusing_handler
from eda_lib.pubsub import BrokerSubscriber


async def test_threshold_checks_catch_a_limit_ten_times_too_small_and_the_boundary() -> None:
    assert await check_large_payment_flagger(lambda e: e.amount >= 100_000)
    assert not await check_large_payment_flagger(lambda e: e.amount >= 10_000)
    assert not await check_large_payment_flagger(lambda e: e.amount > 100_000)
    in_dollars = {"USD": 1.0, "EUR": 1.1, "JPY": 0.0067}  # a conversion the task rules out
    converted = await check_large_payment_flagger(
        lambda e: e.amount * in_dollars[e.currency] >= 100_000
    )
    assert not converted and "no conversion" in converted.message
    dollars_only = await check_large_payment_flagger(
        lambda e: e.currency == "USD" and e.amount >= 100_000
    )
    assert not dollars_only

    async def fraud(threshold: int):  # type: ignore[no-untyped-def]
        async def subscribe(broker, settle):  # type: ignore[no-untyped-def]
            flagged: list[str] = []
            sub = await BrokerSubscriber(broker, start="earliest").subscribe(
                "payment-update",
                "fraud",
                lambda e: flagged.append(e.payment_id) if e.amount > threshold else None,
            )
            await settle(lambda: sub.handled == 5)
            await sub.cancel()
            return flagged

        return await check_fraud_subscriber(subscribe)

    assert await fraud(10_000)
    assert not await fraud(1_000)
    assert not await fraud(9_999)

    def silent(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise ValueError()

    def ten_times_too_strict(event: PaymentSuccessful) -> None:
        if event.amount > 100_000:
            raise ValueError("too much")

    assert "says why" in repr(await check_refusing_handler(silent))
    assert "expected 3 and 2" in repr(await check_refusing_handler(ten_times_too_strict))
