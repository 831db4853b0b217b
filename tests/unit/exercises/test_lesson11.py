"""Lesson 11's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eda_lib.exercises.lesson11 import check_auditing_publisher, check_fraud_subscriber
from eda_lib.pubsub import BrokerSubscriber

Settle = Callable[..., Awaitable[bool]]


def fraud(
    *,
    start: str = "earliest",
    over: int = 10_000,
    strict: bool = True,
    wait: bool = True,
    cancel: bool = True,
    field: str = "payment_id",
) -> Callable[[Any, Settle], Awaitable[list[str]]]:
    """The exercise's answer, with one thing changed: where the group starts, the threshold,
    `>` or `>=`, whether it waits for the handler, whether it cancels."""

    async def subscribe_fraud(broker: Any, settle: Settle) -> list[str]:
        flagged: list[str] = []

        def flag(event: Any) -> None:
            if event.amount > over if strict else event.amount >= over:
                flagged.append(getattr(event, field))

        subscriber = BrokerSubscriber(broker, start=start, lifetime=10)  # type: ignore[arg-type]
        subscription = await subscriber.subscribe("payment-update", "fraud", flag)
        if wait:
            assert await settle(lambda: subscription.handled == 5, timeout=1.0)
        if cancel:
            await subscription.cancel()
        return flagged

    return subscribe_fraud


async def test_fraud_subscriber_the_solution_passes() -> None:
    assert await check_fraud_subscriber(fraud())


async def test_fraud_subscriber_refuses_a_group_started_at_latest() -> None:
    check = repr(await check_fraud_subscriber(fraud(start="latest")))
    assert "started at 'latest'" in check
    assert 'start="earliest"' in check and "auto.offset.reset" in check


async def test_fraud_subscriber_refuses_the_threshold_itself() -> None:
    check = repr(await check_fraud_subscriber(fraud(strict=False)))
    assert "flagged ['pay-1', 'pay-2', 'pay-3']" in check and "> 10_000" in check


async def test_fraud_subscriber_refuses_a_threshold_ten_times_too_small() -> None:
    check = repr(await check_fraud_subscriber(fraud(over=1_000)))
    assert "'pay-4'" in check and "> 10_000" in check


async def test_fraud_subscriber_refuses_returning_before_the_handler_ran() -> None:
    check = repr(await check_fraud_subscriber(fraud(wait=False, cancel=False)))
    assert "returned []" in check and "settle" in check


async def test_fraud_subscriber_refuses_cancelling_before_the_handler_ran() -> None:
    check = repr(await check_fraud_subscriber(fraud(wait=False)))
    assert "5 of 5 updates unread" in check and "subscription.handled == 5" in check


async def test_fraud_subscriber_refuses_the_order_ids() -> None:
    check = await check_fraud_subscriber(fraud(field="order_id"))
    assert not check and "not the updates' payment ids" in check.message
    assert "event.payment_id" in repr(check)


async def test_fraud_subscriber_refuses_another_group() -> None:
    async def subscribe_other(broker: Any, settle: Settle) -> list[str]:
        subscriber = BrokerSubscriber(broker, start="earliest", lifetime=10)
        subscription = await subscriber.subscribe("payment-update", "fraud-watch", lambda e: None)
        await subscription.cancel()
        return []

    assert "no 'fraud' group" in repr(await check_fraud_subscriber(subscribe_other))


async def test_auditing_publisher() -> None:
    class Right:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner, self.published = inner, []

        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            report = await self.inner.publish(topic, event)
            self.published.append(event.id)
            return report

    class Swallows(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            self.published.append(event.id)

    class Forgets(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            return await self.inner.publish(topic, event)

    class RecordsFirst(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            self.published.append(event.id)
            return await self.inner.publish(topic, event)

    class HidesFailures(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            try:
                report = await self.inner.publish(topic, event)
            except Exception:
                return None
            self.published.append(event.id)
            return report

    assert await check_auditing_publisher(Right)
    assert "not before" in repr(await check_auditing_publisher(RecordsFirst))
    assert "reach the caller" in repr(await check_auditing_publisher(HidesFailures))
    assert "0 of 3" in repr(await check_auditing_publisher(Swallows))
    assert "ids" in repr(await check_auditing_publisher(Forgets))


async def test_fraud_subscriber_refuses_a_subscription_left_running() -> None:
    check = repr(await check_fraud_subscriber(fraud(cancel=False)))
    assert "still running" in check and "subscription.cancel()" in check
