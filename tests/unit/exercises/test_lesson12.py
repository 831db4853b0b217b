"""Lesson 12's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.domain import PaymentSuccessful
from eda_lib.exercises.lesson12 import check_refusing_handler


async def test_refusing_handler() -> None:
    def right(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise ValueError(f"{event.money} is over our limit")

    def refuses_nothing(event: PaymentSuccessful) -> None:
        pass

    def wrong_error(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise RuntimeError("no")

    def wrong_two(event: PaymentSuccessful) -> None:  # two refused, but not the right two
        if event.amount >= 1_000_000 and event.amount != 1_000_001:
            raise ValueError(f"{event.money} is over our limit")

    assert await check_refusing_handler(right)
    assert "not pay-2 and pay-4" in repr(await check_refusing_handler(wrong_two))
    assert "5 shipped and 0" in repr(await check_refusing_handler(refuses_nothing))
    assert "raise a ValueError" in repr(await check_refusing_handler(wrong_error))
