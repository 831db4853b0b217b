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


async def test_semantics_choice() -> None:
    from eda_lib.exercises.lesson12 import check_semantics_choice

    assert await check_semantics_choice("effect-once")
    at_most = repr(await check_semantics_choice("at-most-once"))
    assert "lost" in at_most and " 0 lost" not in at_most  # it loses some
    at_least = repr(await check_semantics_choice("at-least-once"))
    assert " 0 lost" in at_least and " 0 applied twice" not in at_least  # it repeats some
    assert "not one of the three" in repr(await check_semantics_choice("exactly-once"))


def test_backoff_policy() -> None:
    from eda_lib.exercises.lesson12 import check_backoff_policy
    from eda_lib.resilience import RetryPolicy

    right = RetryPolicy(max_attempts=5, base_delay=0.2, multiplier=2.0, max_delay=1.0, jitter=0.0)
    assert check_backoff_policy(right)
    jittered = RetryPolicy(max_attempts=5, base_delay=0.2, multiplier=2.0, max_delay=1.0)
    four_tries = RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=1.0, jitter=0.0)
    no_cap = RetryPolicy(max_attempts=5, base_delay=0.2, multiplier=2.0, jitter=0.0)
    for wrong in (jittered, four_tries, no_cap):
        assert "its waits are" in repr(check_backoff_policy(wrong))
    assert "not a RetryPolicy" in repr(check_backoff_policy([0.2, 0.4, 0.8, 1.0]))
