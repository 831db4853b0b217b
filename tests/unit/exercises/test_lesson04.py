"""Lesson 04's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import contextlib
import math
import statistics
from typing import Any

import pytest

from eda_lib.exercises.lesson04 import (
    Declined,
    check_event_checkout,
    check_p99,
    check_record_checkout,
)


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


def _one_transaction(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with db:
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
        db.execute("INSERT INTO outbox (payload) VALUES (?)", (payload,))


def _two_transactions(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with db:
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
    with db:
        db.execute("INSERT INTO outbox (payload) VALUES (?)", (payload,))


def _outbox_first(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    db.execute("INSERT INTO outbox (payload) VALUES (?)", (payload,))
    db.commit()
    db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
    db.commit()


def _charge_only(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with db:
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))


def _order_id_as_payload(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with db:
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
        db.execute("INSERT INTO outbox (payload) VALUES (?)", (order_id.encode(),))


def _swallows_the_crash(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with contextlib.suppress(Exception):  # a dead process catches nothing: Died is not one
        _two_transactions(db, order_id, amount, payload)


async def test_record_checkout_accepts_one_transaction_in_either_form() -> None:
    def explicit_commit(db: Any, order_id: str, amount: int, payload: bytes) -> None:
        db.execute("INSERT INTO outbox (payload) VALUES (?)", (payload,))
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
        db.commit()

    for right in (_one_transaction, explicit_commit):
        verdict = await check_record_checkout(right)
        assert verdict, verdict.message


async def test_record_checkout_refuses_what_a_crash_splits() -> None:
    split = await check_record_checkout(_two_transactions)
    assert not split and "the charge was stored and its event never will be" in split.message
    assert "before step 3 of your 4" in split.message
    early = await check_record_checkout(_outbox_first)
    assert not early and "for a charge that was never stored" in early.message
    assert (
        "charge was stored and its event never will be"
        in (await check_record_checkout(_swallows_the_crash)).message
    )


def _marked_sent(db: Any, order_id: str, amount: int, payload: bytes) -> None:
    with db:
        db.execute("INSERT INTO charges VALUES (?, ?)", (order_id, amount))
        db.execute("INSERT INTO outbox (payload, sent) VALUES (?, 1)", (payload,))


async def test_record_checkout_refuses_a_missing_or_wrong_outbox_row() -> None:
    assert "the outbox is empty" in (await check_record_checkout(_charge_only)).message
    sent = await check_record_checkout(_marked_sent)
    assert not sent and "marked sent already" in sent.message
    wrong = await check_record_checkout(_order_id_as_payload)
    assert not wrong and "not the event's bytes" in wrong.message
    raised = await check_record_checkout(lambda db, o, a, p: db.execute("INSERT INTO nowhere"))
    assert not raised and "OperationalError" in raised.message


async def test_a_plain_function_is_told_to_be_async_and_p99_hints_fit_the_sample() -> None:
    def checkout(order: str, call: Any, publish: Any) -> str:
        return "paid"

    verdict = await check_event_checkout(checkout)
    assert not verdict and "async def checkout" in verdict.message

    def crashes_past_the_end(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[0] if len(ordered) == 1 else ordered[len(ordered)]  # one past the end

    crash = check_p99(crashes_past_the_end)
    assert not crash and "IndexError" in crash.message and "n = 1" not in crash.message
