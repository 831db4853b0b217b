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

    class TooLarge(ValueError):
        pass

    def own_error(event: PaymentSuccessful) -> None:  # a ValueError subclass is a ValueError
        if event.amount > 1_000_000:
            raise TooLarge(f"{event.money} is over our limit")

    async def right_async(event: PaymentSuccessful) -> None:
        right(event)

    def silent(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise ValueError

    def in_units(event: PaymentSuccessful) -> None:  # 10,000 read as cents: 100.00
        if event.amount > 10_000:
            raise ValueError("too much")

    def at_the_limit_too(event: PaymentSuccessful) -> None:  # >=: 10,000.00 itself refused
        if event.amount >= 1_000_000:
            raise ValueError("too much")

    assert await check_refusing_handler(right)
    limit = repr(await check_refusing_handler(at_the_limit_too))
    assert "2 shipped and 3" in limit and "exactly 10,000.00 still ships" in limit
    assert await check_refusing_handler(own_error)
    assert await check_refusing_handler(right_async)
    assert "raise a ValueError that says why" in repr(await check_refusing_handler(silent))
    units = repr(await check_refusing_handler(in_units))
    assert "1 shipped and 4" in units and "counts cents" in units and "1_000_000" not in units
    assert "not pay-2 and pay-4" in repr(await check_refusing_handler(wrong_two))
    nothing = repr(await check_refusing_handler(refuses_nothing))
    assert "5 shipped and 0" in nothing and "1_000_000" not in nothing  # the hint is no answer
    assert "raise a ValueError" in repr(await check_refusing_handler(wrong_error))


async def test_semantics_choice() -> None:
    from eda_lib.exercises.lesson12 import check_semantics_choice

    assert await check_semantics_choice("effect-once")
    at_most = repr(await check_semantics_choice("at-most-once"))
    assert "section 3" in at_most and "remembering" not in at_most  # the way, not the answer
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
    first_try = RetryPolicy(max_attempts=3, base_delay=0.2)  # the notebook's first try
    slow_start = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=1.0, jitter=0.0)
    tripling = RetryPolicy(max_attempts=5, base_delay=0.2, multiplier=3, max_delay=1, jitter=0)
    hints = {
        jittered: "jittered",
        four_tries: "max_attempts counts the first try",
        no_cap: "caps them with max_delay",
        first_try: "jittered",
        slow_start: "the first wait is base_delay",
        tripling: "times multiplier",
    }
    for wrong, hint in hints.items():
        refused = repr(check_backoff_policy(wrong))
        assert "its waits are" in refused and hint in refused, (wrong, refused)
        assert "max_delay 1.0" not in refused and "(5)" not in refused  # no values given away
    assert "not a RetryPolicy" in repr(check_backoff_policy([0.2, 0.4, 0.8, 1.0]))


def test_retry_route() -> None:
    from eda_lib.exercises.lesson12 import check_retry_route
    from eda_lib.resilience_topics import route

    def solution(attempts: int) -> str:
        return {1: "payments.retry.1m", 2: "payments.retry.10m"}.get(
            attempts, "payments.dead-letter"
        )

    assert check_retry_route(solution).passed
    assert check_retry_route(route).passed  # the lesson's own
    wrong = {
        "always the dead-letter topic": lambda attempts: "payments.dead-letter",
        "back to the main topic": lambda attempts: "payments" if attempts < 3 else "x",
        "skips a level": lambda attempts: (
            "payments.retry.10m" if attempts < 3 else "payments.dead-letter"
        ),
        "off by one (0-based index)": lambda attempts: ["payments.retry.1m", "payments.retry.10m"][
            attempts
        ],
        "off by one (parks too soon)": lambda attempts: (
            "payments.retry.1m" if attempts < 2 else "payments.dead-letter"
        ),
        "never parks": lambda attempts: (
            "payments.retry.1m" if attempts == 1 else "payments.retry.10m"
        ),
        "no dead-letter topic": lambda attempts: ["payments.retry.1m", "payments.retry.10m"][
            attempts - 1
        ],
    }
    hints = {
        "always the dead-letter topic": "retry left",
        "back to the main topic": "at once",
        "skips a level": "skips a level",
        "off by one (0-based index)": "skips a level",
        "off by one (parks too soon)": "retry left",
        "never parks": "for ever",
        "no dead-letter topic": "needs an answer",
    }
    for name, answer in wrong.items():
        check = check_retry_route(answer)
        assert not check.passed, name
        assert hints[name] in check.message, (name, check.message)
