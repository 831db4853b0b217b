"""Self-checking exercises of lesson 12 (resilience): the semantics that applies every effect once,
a backoff policy, a handler whose refusals are dead-lettered, and the route through retry topics."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentSuccessful as Payment
from eda_lib.exercises.checks import Check, fail
from eda_lib.labs import FailureLab
from eda_lib.messaging import Consumer, Producer
from eda_lib.resilience import RetryPolicy


async def check_semantics_choice(answer: str) -> Check:
    """Lesson 12, exercise 1: which semantics applies every effect exactly once under crashes?"""
    if answer not in ("at-most-once", "at-least-once", "effect-once"):
        return fail(
            f"{answer!r} is not one of the three",
            "answer 'at-most-once', 'at-least-once' or 'effect-once'",
        )
    lab = FailureLab(seed=5)
    await lab.set_semantics(answer)  # type: ignore[arg-type]
    lab.set_crash_chance(0.2)
    await lab.publish(40)
    counters = await lab.step(30)
    if counters.lost or counters.duplicate_effects:
        return fail(
            f"with {answer}: {counters.lost} lost, {counters.duplicate_effects} applied twice",
            "section 3 crashed each semantics before and after the effect: which one neither "
            "lost pay-1 nor applied it twice?",
        )
    return Check(
        True,
        f"{answer}: nothing lost, nothing applied twice, whether a crash came "
        "before the effect or after it.",
    )


def check_backoff_policy(policy: Any) -> Check:
    """Lesson 12, exercise 2: waits 0.2, 0.4, 0.8, 1.0 s, no jitter, 5 attempts in all."""
    if not isinstance(policy, RetryPolicy):
        return fail("that is not a RetryPolicy", "RetryPolicy(max_attempts=..., base_delay=...)")
    waits = [round(d, 6) for d in policy.schedule()]
    if waits != [0.2, 0.4, 0.8, 1.0]:
        return fail(f"its waits are {waits}", _backoff_hint(policy, waits))
    return Check(True, "waits of 0.2, 0.4, 0.8 and 1.0 s between 5 attempts.")


def _backoff_hint(policy: RetryPolicy, waits: list[float]) -> str:
    """The first thing to look at, pointed at without its value: the task gives the values."""
    if policy.jitter:
        return "waits that are not exact multiples of the first are jittered: the task wants none"
    if len(waits) != 4:
        return "n attempts have n - 1 waits between them: max_attempts counts the first try too"
    if waits[0] != 0.2:
        return "the first wait is base_delay"
    if max(waits) > 1.0:
        return "no wait may be longer than the task allows: RetryPolicy caps them with max_delay"
    return "each wait is the one before it times multiplier, until the cap"


async def check_refusing_handler(ship: Callable[[Any], Any]) -> Check:
    """Lesson 12, exercise 3: `ship(event)` ships payments of at most 10,000.00 and raises a
    `ValueError` (or a subclass of it) that says why for larger ones; the consumer retries,
    then parks those in `payments.dead-letter` with the error, and carries on with the rest."""
    # exactly 10,000.00 ships; 1,000,001 does not; 200,000 catches a limit ten times too small
    amounts = {
        "pay-1": 5_000,
        "pay-2": 2_000_000,
        "pay-3": 1_000_000,
        "pay-4": 1_000_001,
        "pay-5": 200_000,
    }
    raised: list[Exception] = []  # what `ship` raised, to judge its class (subclasses count)
    watched = _watching(ship, raised)
    async with InMemoryBroker(seed=12, clock=VirtualClock()) as broker:
        await broker.create_topic("payments", partitions=1)
        await Producer(broker, "payment-service").send_all(
            "payments",
            [
                Payment(payment_id=p, order_id=f"order-{p}", amount=a, currency="usd")
                for p, a in amounts.items()
            ],
        )
        try:
            consumer = Consumer(
                broker,
                "shipping",
                "payments",
                watched,
                retry=RetryPolicy(max_attempts=2, base_delay=0.1),
                start="earliest",
            )
            async with consumer:
                report = await consumer.run(max_events=5, timeout=5)
        except Exception as error:
            return fail(f"the consumer stopped: {type(error).__name__}: {error}", "see below")
        parked = await broker.read("payments.dead-letter", 0)
    errors = [dict(r.headers).get("dlt-error", b"").decode() for r in parked]
    if report.handled != 3 or len(parked) != 2:
        return fail(
            f"{report.handled} shipped and {len(parked)} dead-lettered, expected 3 and 2",
            "it refused more than the payments over 10,000.00: one of exactly 10,000.00 still "
            "ships, and amount counts cents"
            if len(parked) > 2
            else "amount counts cents (minor units): compare it with 10,000.00 in cents, and "
            "raise for a payment over it",
        )
    sources = sorted(dict(r.headers)["dlt-source"].decode() for r in parked)
    if sources != ["payments[0]@1", "payments[0]@3"]:  # pay-2 and pay-4, the two over the limit
        return fail(
            f"parked {sources}, not pay-2 and pay-4 (offsets 1 and 3)",
            "refuse only what is over 10,000.00: exactly 10,000.00 still ships, and amount "
            "counts cents",
        )
    if not all(isinstance(e, ValueError) and str(e).strip() for e in raised):
        return fail(f"the dead letters say {errors}", "raise a ValueError that says why")
    return Check(True, "the two large payments parked with your reason; the other three shipped")


def _watching(ship: Callable[[Any], Any], raised: list[Exception]) -> Callable[[Any], Any]:
    """`ship`, noting each exception it raises before passing it on to the consumer. It keeps
    `ship`'s annotation (functools.wraps), by which the consumer picks the events it gets."""
    if inspect.iscoroutinefunction(ship):

        @functools.wraps(ship)
        async def watched_async(event: Any) -> Any:
            try:
                return await ship(event)
            except Exception as error:
                raised.append(error)
                raise

        return watched_async

    @functools.wraps(ship)
    def watched(event: Any) -> Any:
        try:
            return ship(event)
        except Exception as error:
            raised.append(error)
            raise

    return watched


def check_retry_route(route: Callable[[int], Any]) -> Check:
    """Lesson 12, exercise 4: `route(attempts)` says where a record goes after its `attempts`-th
    failed attempt: `payments.retry.1m`, then `payments.retry.10m`, then the dead-letter topic."""
    want = {1: "payments.retry.1m", 2: "payments.retry.10m"}
    for attempts in range(1, 6):
        try:
            topic = route(attempts)
        except Exception as error:
            return fail(
                f"route({attempts}) raised {type(error).__name__}: {error}",
                "every number of attempts needs an answer: once the retry topics are used up, "
                "the record goes to the dead-letter topic",
            )
        if topic != want.get(attempts, "payments.dead-letter"):
            return fail(f"route({attempts}) gave {topic!r}", _route_hint(attempts, topic))
    return Check(
        True,
        "after attempts 1 to 5, your route gives payments.retry.1m, payments.retry.10m, then "
        "payments.dead-letter from the third failure on.",
    )


def _route_hint(attempts: int, topic: Any) -> str:
    """Why that topic is wrong for that attempt, without listing the whole answer."""
    if topic == "payments":
        return (
            "back on the main topic the record is tried again at once, with no wait, and goes "
            "behind everything else: hand it to a retry topic"
        )
    if topic == "payments.dead-letter":
        return (
            "that parks a record that still has a retry left: each retry topic gives it one "
            "more try before the dead-letter topic"
        )
    if attempts >= 3:
        return (
            "a record that failed in every retry topic must stop somewhere, or it goes round "
            "for ever: it goes to the dead-letter topic"
        )
    if attempts == 1 and topic == "payments.retry.10m":
        return "that skips a level: the retry topics are used in turn, shortest wait first"
    return "attempts counts failed tries so far, the one on payments included: 1 after the first"
