"""Lesson 00's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.domain import PaymentSuccessful
from eda_lib.exercises.lesson00 import check_first_publish, check_invalid_event_is_refused


async def test_first_publish() -> None:
    async def right(producer):  # type: ignore[no-untyped-def]
        return await producer.send(
            "payments",
            PaymentSuccessful(payment_id="pay-3", order_id="order-3", amount=4200, currency="usd"),
        )

    async def in_units(producer):  # type: ignore[no-untyped-def]
        return await producer.send(
            "payments",
            PaymentSuccessful(payment_id="pay-3", order_id="order-3", amount=42, currency="usd"),
        )

    async def forgets(producer):  # type: ignore[no-untyped-def]
        return None

    async def no_report(producer):  # type: ignore[no-untyped-def]
        await right(producer)  # sends, but returns nothing

    async def twice(producer):  # type: ignore[no-untyped-def]
        await right(producer)
        return await right(producer)

    async def other_payment(producer):  # type: ignore[no-untyped-def]
        return await producer.send(
            "payments",
            PaymentSuccessful(payment_id="pay-99", order_id="order-3", amount=4200, currency="usd"),
        )

    assert await check_first_publish(right)
    assert "payment_id='pay-3'" in repr(await check_first_publish(other_payment))
    assert "4200 minor units" in repr(await check_first_publish(in_units))
    assert "0 events" in repr(await check_first_publish(forgets))
    assert "did not return the delivery report" in repr(await check_first_publish(no_report))
    assert "2 events" in repr(await check_first_publish(twice))


def test_a_made_up_currency_is_built_and_the_hint_says_why() -> None:
    def made_up() -> PaymentSuccessful:
        return PaymentSuccessful(payment_id="p", order_id="o", amount=500, currency="xyz")

    verdict = check_invalid_event_is_refused(made_up)
    assert not verdict and "shape only" in verdict.message
