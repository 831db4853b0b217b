"""Self-checking exercises. Each check runs the learner's code against a fresh scenario and
prints a tick with what was right, or a cross with what was wrong and a hint."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from eda_lib.brokers.base import TopicPartition, partition_for_key
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event, InvalidEvent
from eda_lib.labs import BacklogLab
from eda_lib.messaging import Consumer, Producer


@dataclass(frozen=True)
class Check:
    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("✓ " if self.passed else "✗ Not yet: ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def _fail(message: str, hint: str) -> Check:
    return Check(False, f"{message}\n  Hint: {hint}")


def _sample_payments() -> list[PaymentSuccessful]:
    amounts = [(4_999, "USD"), (150_000, "USD"), (100_000, "USD"), (250_000, "EUR"), (99, "JPY")]
    return [
        PaymentSuccessful(payment_id=f"pay-{i}", order_id=f"order-{i}", amount=a, currency=c)
        for i, (a, c) in enumerate(amounts)
    ]


# --- lesson 01 --------------------------------------------------------------------------------


def check_payment_for_99_95_eur(event: Any) -> Check:
    """Lesson 01, exercise 1: build the payment of 99.95 EUR for order 'order-7'."""
    if not isinstance(event, PaymentSuccessful):
        return _fail(
            f"expected a PaymentSuccessful, got {type(event).__name__}",
            "PaymentSuccessful(payment_id=..., order_id=..., amount=..., currency=...)",
        )
    if event.amount != 9995:
        return _fail(
            f"amount is {event.amount}",
            "money is a whole number of minor units: 99.95 is 9995 cents",
        )
    if event.currency != "EUR" or event.order_id != "order-7":
        return _fail(
            f"currency {event.currency}, order {event.order_id}",
            "use currency 'eur' (it is normalised to 'EUR') and order_id 'order-7'",
        )
    return Check(True, f"{event.money} for order-7, keyed by '{event.key}'.")


async def check_large_payment_flagger(flag: Callable[[Event], bool]) -> Check:
    """Lesson 01, exercise 2: a fourth reaction, a fraud group that flags payments of at least
    1,000.00 in any currency with two decimals. It is added without touching the producer."""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=3)
    producer = Producer(broker, "payment-service")
    sample = _sample_payments()
    for event in sample:
        await producer.send("payments", event)
    # just under the threshold, and a threshold ten times too small: both must not be flagged
    for n, amount in ((5, 99_999), (6, 10_000)):
        await producer.send(
            "payments",
            PaymentSuccessful(
                payment_id=f"pay-{n}", order_id=f"order-{n}", amount=amount, currency="USD"
            ),
        )
    flagged: list[str] = []
    consumer = Consumer(
        broker, "fraud", "payments", lambda e: flagged.append(e.payment_id) if flag(e) else None
    )
    await consumer.start()
    report = await consumer.run()
    if report.dead_lettered:
        error = broker.trace.select("failed")[0].detail
        return _fail(
            f"your function raised on {report.dead_lettered} event(s): {error}",
            "it receives a PaymentSuccessful; read event.amount and event.currency",
        )
    expected = ["pay-1", "pay-2", "pay-3"]
    if sorted(flagged) != expected:
        return _fail(
            f"flagged {sorted(flagged)}, expected {expected}",
            '1,000.00 is 100_000 minor units, and "at least" includes exactly 1,000.00',
        )
    return Check(True, "the fraud group flags 3 of 7 payments, and the producer never changed.")


# --- lesson 02 --------------------------------------------------------------------------------


async def check_audit_group(add_audit: Callable[[InMemoryBroker], Awaitable[list[str]]]) -> Check:
    """Lesson 02, exercise 1: `add_audit(broker)` must start a new consumer group on 'payments'
    and return every payment id it saw, while the shipping group is unaffected."""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=2)
    producer = Producer(broker, "payment-service")
    shipped: list[str] = []
    shipping = Consumer(broker, "shipping", "payments", lambda e: shipped.append(e.payment_id))
    await shipping.start()
    for event in _sample_payments():
        await producer.send("payments", event)
    await shipping.run()
    if not inspect.iscoroutinefunction(add_audit):
        return _fail("add_audit must be an async function", "write `async def add_audit(broker):`")
    seen = await add_audit(broker)
    expected = sorted(e.payment_id for e in _sample_payments())
    state = await broker.describe()
    groups = {g.group for g in state.groups}
    if len(groups) < 2:
        return _fail(
            "there is still only one consumer group",
            "create a Consumer with a new group name, e.g. 'audit', then start and run it",
        )
    if sorted(seen or []) != expected:
        return _fail(
            f"the audit group saw {sorted(seen or [])}",
            "a new group starting at 'earliest' reads the whole retained log",
        )
    if sorted(shipped) != expected or state.group("shipping").total_lag:
        return _fail(
            "the shipping group was disturbed", "use a different group name from 'shipping'"
        )
    return Check(
        True,
        "a new group read all 5 payments from the start; the producer and the "
        "shipping group were untouched.",
    )


async def check_useful_members(answer: int) -> Check:
    """Lesson 02, exercise 2: with 4 partitions, how many members can a group keep busy?"""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=4)
    busy = 0
    for n in range(1, 7):
        await broker.join("shipping", ["payments"], member=f"m{n}")
        owned = [await broker.assignment("shipping", f"m{i}") for i in range(1, n + 1)]
        if all(owned):
            busy = n
    if answer != busy:
        return _fail(
            f"{answer} is not it",
            "a partition is read by one member of a group at a time; count the partitions",
        )
    return Check(True, f"{busy}: a fifth member would sit idle until another leaves.")


async def check_catch_up_capacity(capacity: int) -> Check:
    """Lesson 02, exercise 3: the consumer is down for 10 ticks at 6 payments per tick. Which
    smallest capacity lets it catch up within 10 ticks of coming back?"""
    if not isinstance(capacity, int) or capacity < 1:
        return _fail(f"{capacity!r} is not a capacity", "give a whole number of events per tick")

    async def catches_up(c: int) -> bool:
        lab = BacklogLab(rate=6, capacity=c)
        await lab.set_consumer(False)
        await lab.tick(10)
        await lab.set_consumer(True)
        await lab.tick(10)
        return lab.history[-1].lag == 0

    if not await catches_up(capacity):
        return _fail(
            f"with capacity {capacity} the lag is not 0 ten ticks after the return",
            "the backlog is 10 x 6 = 60; each tick back, the consumer gains (capacity - 6) on it",
        )
    if capacity > 1 and await catches_up(capacity - 1):
        return _fail(f"{capacity} works, but so does {capacity - 1}", "find the smallest one")
    return Check(True, f"capacity {capacity}: it clears 60 backlog + 60 new in 10 ticks.")


def check_invalid_event_is_refused(build: Callable[[], Event]) -> Check:
    """Lesson 00: the learner builds an invalid event and sees it refused."""
    try:
        build()
    except InvalidEvent as error:
        return Check(True, f"refused with a clear reason: {error}")
    return _fail("the event was built", "try a negative amount or a two-letter currency")


# --- lesson 08 --------------------------------------------------------------------------------


def check_partition_prediction(partition: int) -> Check:
    """Lesson 08, exercise 1: on a topic of 3 partitions, where does key 'order-42' go?"""
    expected = partition_for_key(b"order-42", 3)
    if partition != expected:
        return _fail(
            f"not partition {partition}",
            "use partition_for_key(b'order-42', 3): murmur2 of the key bytes, made "
            "positive, modulo the partition count",
        )
    return Check(True, f"partition {expected}, on Kafka and on InMemoryBroker alike.")


async def check_restart_offset(offset: int) -> Check:
    """Lesson 08, exercise 2: a member reads 5 events of a 1-partition topic, commits after the
    first 3, and crashes. At which offset does the next member of the group start?"""
    broker = InMemoryBroker()
    await broker.create_topic("t")
    producer = Producer(broker)
    for n in range(5):
        await producer.send(
            "t", PaymentSuccessful(payment_id=f"p{n}", order_id="o", amount=1, currency="USD")
        )
    await broker.join("g", ["t"], member="first")
    await broker.poll("g", "first", max_records=5)
    await broker.commit("g", "first", {TopicPartition("t", 0): 3})
    await broker.leave("g", "first")
    await broker.join("g", ["t"], member="second")
    start = (await broker.poll("g", "second", max_records=1)).records[0].offset
    if offset != start:
        return _fail(
            f"not offset {offset}",
            "a committed offset is the next one to read, and only commits survive a crash",
        )
    return Check(True, f"offset {start}: events 3 and 4 are delivered again, 0-2 are not.")


# --- lesson 07 --------------------------------------------------------------------------------


def check_dead_worker_redelivery(answer: int) -> Check:
    """Lesson 07, exercise 1: five messages; a worker takes three and dies unacknowledged."""
    from eda_lib.queues import WorkQueue

    queue = WorkQueue()
    for n in range(5):
        queue.put(f"job-{n}".encode())
    for _ in range(3):
        queue.get("doomed")
    queue.drop_worker("doomed")
    takeable = 0
    while (message := queue.get("next")) is not None:
        queue.ack(message)
        takeable += 1
    if answer != takeable:
        return _fail(f"not {answer}", "a queue deletes a message only when it is acknowledged")
    return Check(True, f"{takeable}: unacknowledged messages go back to the queue.")


async def check_replay_count(answer: int) -> Check:
    """Lesson 07, exercise 2: 12 events on 3 partitions, all committed, then seek to 0."""
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=3)
    producer = Producer(broker)
    for n in range(12):
        await producer.send(
            "t", PaymentSuccessful(payment_id=f"p{n}", order_id=f"o{n}", amount=1, currency="USD")
        )
    consumer = Consumer(broker, "g", "t", lambda e: None, name="m")
    await consumer.start()
    await consumer.run()
    for tp in await consumer.assignment():
        await consumer.seek(tp, 0)
    again = (await consumer.run()).handled
    if answer != again:
        return _fail(f"not {answer}", "seeking to offset 0 rereads each partition from its start")
    return Check(True, f"{again}: a log gives back everything it still retains.")


# --- lesson 11 --------------------------------------------------------------------------------


async def check_fraud_subscriber(
    subscribe: Callable[[Any, Callable[..., Awaitable[bool]]], Awaitable[list[str]]],
) -> Check:
    """Lesson 11: subscribe a 'fraud' group that collects payment ids of updates over 100.00."""
    from eda_lib.domain import PaymentUpdated
    from eda_lib.pubsub import BrokerPublisher, BrokerSubscriber, settle

    broker = InMemoryBroker()
    await broker.create_topic("payment-update", partitions=2)
    publisher = BrokerPublisher(broker)
    # exactly 100.00 is not over it; 10.01 catches a threshold ten times too small
    for n, amount in enumerate((5_000, 25_000, 10_001, 10_000, 1_001)):
        await publisher.publish(
            "payment-update",
            PaymentUpdated(
                payment_id=f"pay-{n}",
                order_id=f"order-{n}",
                amount=amount,
                currency="usd",
                status="success",
            ),
        )

    flagged = await subscribe(BrokerSubscriber(broker, lifetime=10), settle)
    if "fraud" not in {g.group for g in (await broker.describe()).groups}:
        return _fail(
            "no 'fraud' group subscribed",
            "subscriber.subscribe('payment-update', 'fraud', handler)",
        )
    if sorted(flagged or []) != ["pay-1", "pay-2"]:
        return _fail(
            f"flagged {sorted(flagged or [])}",
            "over 100.00 means amount > 10_000 minor units; wait for all 3 updates",
        )
    return Check(True, "the fraud group got every update and flagged the two large ones.")


# --- lesson 12 --------------------------------------------------------------------------------


async def check_semantics_choice(answer: str) -> Check:
    """Lesson 12, exercise 1: which semantics applies every effect exactly once under crashes?"""
    from eda_lib.labs import FailureLab

    if answer not in ("at-most-once", "at-least-once", "effect-once"):
        return _fail(
            f"{answer!r} is not one of the three",
            "answer 'at-most-once', 'at-least-once' or 'effect-once'",
        )
    lab = FailureLab(seed=5)
    await lab.set_semantics(answer)  # type: ignore[arg-type]
    lab.set_crash_chance(0.2)
    await lab.publish(40)
    counters = await lab.step(30)
    if counters.lost or counters.duplicate_effects:
        return _fail(
            f"with {answer}: {counters.lost} lost, {counters.duplicate_effects} applied twice",
            "you need both: commit after handling, and remembering what was applied",
        )
    return Check(
        True,
        f"{answer}: nothing lost, nothing applied twice, whether a crash came "
        "before the effect or after it.",
    )


def check_backoff_policy(policy: Any) -> Check:
    """Lesson 12, exercise 2: waits 0.2, 0.4, 0.8, 1.0 s, no jitter, 5 attempts in all."""
    from eda_lib.resilience import RetryPolicy

    if not isinstance(policy, RetryPolicy):
        return _fail("that is not a RetryPolicy", "RetryPolicy(max_attempts=..., base_delay=...)")
    waits = [round(d, 6) for d in policy.schedule()]
    if waits != [0.2, 0.4, 0.8, 1.0]:
        return _fail(
            f"its waits are {waits}",
            "max_attempts counts every try (5); multiplier 2; max_delay 1.0; jitter 0",
        )
    return Check(True, "waits of 0.2, 0.4, 0.8 and 1.0 s between 5 attempts.")
