"""Lesson 04's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from eda_lib.exercises.lesson04 import Declined, check_event_checkout, check_p99


async def test_the_event_checkout_check() -> None:
    async def rest(order: str, call: Any, publish: Any) -> str:
        for service in ("payment", "shipping", "email", "analytics"):
            await call(service)
        return "paid"

    async def events(order: str, call: Any, publish: Any) -> str:
        try:
            await call("payment")
        except Declined:
            return "declined"
        await publish(order)
        return "paid"

    async def careless(order: str, call: Any, publish: Any) -> str:
        await call("payment")  # a declined card escapes as an exception
        await publish(order)
        return "paid"

    async def publishes_first(order: str, call: Any, publish: Any) -> str:
        await publish(order)
        try:
            await call("payment")
        except Declined:
            return "declined"
        return "paid"

    async def any_error_is_a_decline(order: str, call: Any, publish: Any) -> str:
        try:
            await call("payment")
        except Exception:
            return "declined"
        await publish(order)
        return "paid"

    assert await check_event_checkout(events)
    outage = await check_event_checkout(any_error_is_a_decline)
    assert not outage and "payment being down is not a declined card" in outage.message
    assert (
        "called ['payment', 'shipping', 'email', 'analytics']"
        in (await check_event_checkout(rest)).message
    )
    assert "catch Declined" in (await check_event_checkout(careless)).message
    assert (
        "with the card declined, checkout published"
        in (await check_event_checkout(publishes_first)).message
    )


def test_the_p99_check() -> None:
    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        rank = (len(ordered) - 1) * 0.99
        low, high = math.floor(rank), math.ceil(rank)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    assert check_p99(p99)
    assert "the p99 is 2.98" in check_p99(max).message
    assert "raised ZeroDivisionError" in check_p99(lambda v: 1 / 0).message
    nearest_rank = check_p99(lambda v: sorted(v)[int(0.99 * len(v))])  # no interpolation
    assert not nearest_rank
    assert not check_p99(lambda v: sorted(v)[len(v) // 2])  # the median
    # an independent oracle: the standard library's inclusive quantiles interpolate the same way
    values = [float(v) for v in range(7, 0, -1)]
    assert p99(values) == pytest.approx(statistics.quantiles(values, n=100, method="inclusive")[98])
