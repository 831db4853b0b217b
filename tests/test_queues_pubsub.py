"""Lesson 07's work queue beside the log, and lesson 11's publish/subscribe interfaces."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from eda_lib import InMemoryBroker
from eda_lib.domain import PaymentUpdated
from eda_lib.pubsub import BrokerPublisher, BrokerSubscriber
from eda_lib.queues import NotHeld, WorkQueue


def test_a_queue_gives_each_message_to_one_worker_and_forgets_it_on_ack() -> None:
    queue = WorkQueue()
    for n in range(4):
        queue.put(f"job-{n}".encode())
    a, b = queue.get("a"), queue.get("b")
    assert a is not None and b is not None and a.id != b.id
    queue.ack(a)
    with pytest.raises(NotHeld, match=r"acked already.*Fix"):
        queue.ack(a)
    assert (len(queue), queue.in_flight, queue.acked) == (2, 1, 1)
    assert queue.drop_worker("b") == 1  # b died holding job-1: it goes back, first in line
    assert queue.get("c") == b
    queue.nack(b)
    assert queue.get("c") == b


def test_a_drained_queue_has_nothing_for_a_newcomer() -> None:
    queue = WorkQueue()
    queue.put(b"x")
    message = queue.get("a")
    assert message is not None
    queue.ack(message)
    assert queue.get("newcomer") is None  # unlike a log, nothing is kept to replay


async def test_subscribers_get_every_update_until_they_cancel() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    publisher = BrokerPublisher(broker, "payment-service")
    subscriber = BrokerSubscriber(broker, lifetime=5)
    seen: dict[str, list[str]] = {"notifications": [], "ledger": []}
    subscriptions = {
        group: await subscriber.subscribe(
            "payment-update", group, lambda e, log=log: log.append(e.status)
        )
        for group, log in seen.items()
    }
    for status in ("success", "refunded"):
        await publisher.publish(
            "payment-update",
            PaymentUpdated(
                payment_id="pay-1", order_id="order-1", amount=12000, currency="usd", status=status
            ),
        )
    for _ in range(100):
        if all(len(log) == 2 for log in seen.values()):
            break
        await asyncio.sleep(0.01)
    assert seen == {"notifications": ["success", "refunded"], "ledger": ["success", "refunded"]}
    await subscriptions["ledger"].cancel()
    assert not subscriptions["ledger"].active and subscriptions["notifications"].active
    await publisher.publish(
        "payment-update",
        PaymentUpdated(
            payment_id="pay-2", order_id="order-2", amount=500, currency="usd", status="success"
        ),
    )
    for _ in range(100):
        if len(seen["notifications"]) == 3:
            break
        await asyncio.sleep(0.01)
    await subscriptions["notifications"].cancel()
    assert len(seen["notifications"]) == 3 and len(seen["ledger"]) == 2
    assert (await broker.describe()).group("ledger").total_lag == 1  # waiting for it


def test_a_worker_presumed_dead_cannot_ack_what_another_now_holds() -> None:
    queue = WorkQueue()
    queue.put(b"job")
    message = queue.get("slow")
    assert message is not None
    queue.drop_worker("slow")
    again = queue.get("fresh")
    with pytest.raises(NotHeld, match=r"held by fresh, not slow.*Fix"):
        queue.ack(message, worker="slow")
    queue.ack(again, worker="fresh")  # type: ignore[arg-type]


async def test_a_subscription_leaves_its_group_when_its_lifetime_ends() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    subscriber = BrokerSubscriber(broker, lifetime=0.1)
    first = await subscriber.subscribe("payment-update", "g", lambda e: None)
    second = await subscriber.subscribe("payment-update", "g", lambda e: None)  # unique names
    for _ in range(100):
        if not first.active and not second.active:
            break
        await asyncio.sleep(0.02)
    assert not first.active and not second.active
    assert (await broker.describe()).group("g").members == {}


def test_workers_compete_by_speed_and_a_dead_workers_message_goes_to_another() -> None:
    from eda_lib.queues import WorkQueue, run_workers

    def queue_of(count: int) -> WorkQueue:
        queue = WorkQueue()
        for n in range(count):
            queue.put(f"job-{n}".encode())
        return queue

    # Worked out by hand: the fast worker is free at 0, 1, 2, ...; the slow one at 0, 3, 6.
    log = run_workers(queue_of(12), {"fast": 1.0, "slow": 3.0})
    assert Counter(h.worker for h in log) == {"fast": 9, "slow": 3}
    assert sorted(h.message for h in log) == list(range(12))

    queue = queue_of(12)
    log = run_workers(queue, {"fast": 1.0, "slow": 3.0}, dies_at={"slow": 2})
    died = [h for h in log if h.outcome == "died"]
    # At 3 s both are free; "fast" goes first on a tie, so "slow" takes job 5 and dies with it.
    assert [(h.worker, h.message, h.end) for h in died] == [("slow", 5, 6.0)]
    again = [h for h in log if h.message == 5 and h.outcome == "acked"]
    assert [(h.worker, h.start) for h in again] == [("fast", 6.0)]  # back when the death is seen
    acked = sorted(h.message for h in log if h.outcome == "acked")
    assert acked == list(range(12)) and queue.acked == 12 and len(queue) == queue.in_flight == 0
