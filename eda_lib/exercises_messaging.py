"""Self-checking exercises that make the learner write messaging code (lessons 07, 08 and 11): a
careful queue worker, a new group's start position, a consumer, a dispatch on a header, and a
publisher of one's own. Each check runs the code on a fresh broker or queue of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.codecs import decode_message
from eda_lib.events import Event
from eda_lib.exercises import Check, _fail
from eda_lib.messaging import Producer

# --- lesson 07 --------------------------------------------------------------------------------


def check_careful_worker(work: Callable[[Any, Callable[[bytes], None]], Any]) -> Check:
    """Lesson 07, exercise 3: `work(queue, handle)` takes messages as one worker until the
    queue is empty, acks each one `handle` went through for, and nacks one it raised for, so
    the queue hands it out again and nothing is lost."""
    from eda_lib.queues import WorkQueue

    queue = WorkQueue()
    for n in range(5):
        queue.put(f"job-{n}".encode())
    done: list[bytes] = []
    failed_once: set[bytes] = set()

    def handle(body: bytes) -> None:
        if body == b"job-2" and body not in failed_once:
            failed_once.add(body)
            raise TimeoutError("the printer jammed")
        done.append(body)

    try:
        work(queue, handle)
    except Exception as error:
        return _fail(
            f"your code raised {type(error).__name__}: {error}",
            "catch the handler's error and nack the message instead of stopping",
        )
    if queue.in_flight:
        return _fail(
            f"{queue.in_flight} message(s) still held by the worker, never acked nor nacked",
            "after a failure, queue.nack(message) puts it back for the next get",
        )
    if sorted(done) != [f"job-{n}".encode() for n in range(5)] or queue.acked != 5:
        return _fail(
            f"handled {sorted(b.decode() for b in done)}, acked {queue.acked}",
            "ack only after handle() returned; loop until get() returns None",
        )
    return Check(True, "every job handled once and acked; the jammed one went back and came again")


async def check_latest_auditor(make_auditor: Callable[[Any, list[str]], Any]) -> Check:
    """Lesson 07, exercise 4: `make_auditor(broker, seen)` returns a consumer of a new group
    that skips the history (Kafka's `auto.offset.reset=latest`) and appends the payment id of
    each new event to `seen`."""
    from eda_lib.domain.payments import PaymentSuccessful as Payment

    def pay(n: int) -> Payment:
        return Payment(payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency="usd")

    seen: list[str] = []
    async with InMemoryBroker(seed=7) as broker:
        await broker.create_topic("payments", partitions=2)
        producer = Producer(broker, "payment-service")
        await producer.send_all("payments", [pay(n) for n in range(5)])
        try:
            auditor = make_auditor(broker, seen)
            async with auditor:
                await producer.send_all("payments", [pay(n) for n in range(5, 8)])
                await auditor.run(max_events=3, timeout=2)
        except Exception as error:
            return _fail(
                f"your code raised {type(error).__name__}: {error}",
                "return Consumer(broker, group, 'payments', handler, start=...) unstarted",
            )
    if sorted(seen) != ["pay-5", "pay-6", "pay-7"]:
        return _fail(
            f"the auditor saw {sorted(seen)}",
            "a new group starts where start= says: 'earliest' is the history, 'latest' only new",
        )
    return Check(True, "only the 3 payments published after it joined")


# --- lesson 08 --------------------------------------------------------------------------------


def _order_story() -> list[Event]:
    from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated

    return [
        OrderCreated(order_id="order-1", customer_id="ada", amount=2500),
        OrderCreated(order_id="order-2", customer_id="bob", amount=4000),
        OrderApproved(order_id="order-1"),
        OrderCreated(order_id="order-3", customer_id="cy", amount=990),
        OrderCancelled(order_id="order-2", reason="out of stock"),
        OrderApproved(order_id="order-3"),
    ]


async def check_order_collector(collect: Callable[[Any], Awaitable[Any]]) -> Check:
    """Lesson 08, exercise 3: `collect(broker)` reads the topic 'orders' as group 'collector'
    from the earliest offset, returns each order's event types in the order they happened, and
    commits what it read."""
    story = _order_story()
    async with InMemoryBroker(seed=3) as broker:
        await broker.create_topic("orders", partitions=3)
        await Producer(broker, "order-service").send_all("orders", story)
        try:
            result = await collect(broker)
        except Exception as error:
            return _fail(f"your code raised {type(error).__name__}: {error}", "run it step by step")
        state = await broker.describe()
    expected: dict[str, list[str]] = {}
    for event in story:
        expected.setdefault(getattr(event, "order_id", ""), []).append(event.event_type)
    if dict(result or {}) != expected:
        return _fail(
            f"got {result}, expected {expected}",
            "one handler appends event.event_type to a list per event.order_id; run until 6",
        )
    if not state.has_group("collector") or state.group("collector").total_lag:
        return _fail(
            "the group 'collector' has not committed everything it read",
            "use Consumer(broker, 'collector', 'orders', handler) and run it: it commits",
        )
    return Check(True, "every order's events in order, and the group committed all 6")


def check_type_header(event_type_of: Callable[[Any], str]) -> Check:
    """Lesson 08, exercise 4: read a record's event type from its `ce_type` header, as course
    chapter 4 dispatches on a header, without decoding the value."""
    from eda_lib.brokers.base import Record
    from eda_lib.codecs import KafkaBinary

    codec = KafkaBinary()
    for event in _order_story():
        headers = codec.encode(event)[1]
        record = Record("orders", 0, 0, None, b"not looked at", headers, event.time)
        try:
            got = event_type_of(record)
        except Exception as error:
            return _fail(f"your code raised {type(error).__name__}: {error}", "print headers")
        if got != event.event_type:
            return _fail(
                f"got {got!r} for a {event.event_type}",
                "record.headers is a tuple of (name, bytes) pairs: find 'ce_type', decode it",
            )
    return Check(True, "the type from the header alone, for every kind of order event")


# --- lesson 11 --------------------------------------------------------------------------------


async def check_auditing_publisher(publisher_class: Any) -> Check:
    """Lesson 11, exercise 2: a publisher that wraps another, passes each publish on, returns
    its delivery report, and keeps the ids of the events it published in `published`."""
    from eda_lib.domain.payments import PaymentUpdated
    from eda_lib.pubsub import BrokerPublisher

    updates = [
        PaymentUpdated(
            payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency="usd", status="ok"
        )
        for n in range(3)
    ]
    async with InMemoryBroker(seed=11) as broker:
        await broker.create_topic("payment-update", partitions=2)
        try:
            auditing = publisher_class(BrokerPublisher(broker, "audited"))
            reports = [await auditing.publish("payment-update", u) for u in updates]
        except Exception as error:
            return _fail(
                f"your code raised {type(error).__name__}: {error}",
                "publish(topic, event) awaits self.inner.publish(topic, event)",
            )
        stored = sum(p.end_offset for p in (await broker.describe()).topic("payment-update"))
    if stored != 3:
        return _fail(
            f"{stored} of 3 updates reached the broker",
            "pass every publish on to the publisher you wrap",
        )
    if any(getattr(r, "offset", None) is None for r in reports):
        return _fail(
            "publish did not return the delivery report", "return what inner.publish returns"
        )
    if list(getattr(auditing, "published", [])) != [u.id for u in updates]:
        return _fail(
            "published does not hold the 3 event ids, in order",
            "append event.id after the inner publish went through",
        )
    return Check(True, "every update passed on, its report returned, its id kept")


# --- lesson 02 --------------------------------------------------------------------------------


def check_award_once(make_handler: Callable[[dict[str, int]], Callable[[Any], None]]) -> Check:
    """Lesson 02, exercise 4: `make_handler(points)` returns a handler that adds one point per
    whole unit paid to `points[order_id]`, once per payment even when a payment is delivered
    again (after a consumer crash, at-least-once delivery repeats events)."""
    from eda_lib.domain.payments import PaymentSuccessful as Payment

    payments = [
        Payment(
            payment_id=f"pay-{n}", order_id=f"order-{n % 2}", amount=1000 * (n + 1), currency="usd"
        )
        for n in range(4)
    ]
    deliveries = [*payments[:3], payments[1], payments[2], payments[3], payments[0]]
    points: dict[str, int] = {}
    try:
        handler = make_handler(points)
        for event in deliveries:
            handler(event)
    except Exception as error:
        return _fail(f"your code raised {type(error).__name__}: {error}", "run it on one event")
    expected = {"order-0": 10 + 30, "order-1": 20 + 40}
    if points != expected:
        return _fail(
            f"points are {points}, expected {expected} (3 of the 7 deliveries were repeats)",
            "remember each event.id you awarded and skip those (not the payment id: a refund "
            "of a payment is a new event with its own id)",
        )
    return Check(True, "each payment counted once, though three were delivered twice")


# --- lesson 12 --------------------------------------------------------------------------------


async def check_refusing_handler(ship: Callable[[Any], Any]) -> Check:
    """Lesson 12, exercise 3: `ship(event)` ships payments of at most 10,000.00 and raises a
    `ValueError` that says why for larger ones; the consumer retries, then parks those in
    `payments.dead-letter` with the error, and carries on with the rest."""
    from eda_lib.clock import VirtualClock
    from eda_lib.domain.payments import PaymentSuccessful as Payment
    from eda_lib.messaging import Consumer
    from eda_lib.resilience import RetryPolicy

    # exactly 10,000.00 ships; 1,000,001 does not; 200,000 catches a limit ten times too small
    amounts = {
        "pay-1": 5_000,
        "pay-2": 2_000_000,
        "pay-3": 1_000_000,
        "pay-4": 1_000_001,
        "pay-5": 200_000,
    }
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
                ship,
                retry=RetryPolicy(max_attempts=2, base_delay=0.1),
            )
            async with consumer:
                report = await consumer.run(max_events=5, timeout=5)
        except Exception as error:
            return _fail(f"the consumer stopped: {type(error).__name__}: {error}", "see below")
        parked = await broker.read("payments.dead-letter", 0)
    errors = [dict(r.headers).get("dlt-error", b"").decode() for r in parked]
    if report.handled != 3 or len(parked) != 2:
        return _fail(
            f"{report.handled} shipped and {len(parked)} dead-lettered, expected 3 and 2",
            "raise ValueError(...) when event.amount > 1_000_000; otherwise ship it",
        )
    if not all(e.startswith("ValueError: ") and len(e) > len("ValueError: ") for e in errors):
        return _fail(f"the dead letters say {errors}", "raise a ValueError that says why")
    return Check(True, "the two large payments parked with your reason; the other two shipped")


# --- lesson 00 --------------------------------------------------------------------------------


async def check_first_publish(publish: Callable[[Any], Awaitable[Any]]) -> Check:
    """Lesson 00, exercise 2: `publish(producer)` sends a payment of 42.00 USD for order
    'order-3' to the topic 'payments' and returns the delivery report."""
    from eda_lib.domain.payments import PaymentSuccessful as Payment

    async with InMemoryBroker(seed=0) as broker:
        await broker.create_topic("payments", partitions=2)
        try:
            report = await publish(Producer(broker, "payment-service"))
        except Exception as error:
            return _fail(
                f"your code raised {type(error).__name__}: {error}",
                'await producer.send("payments", PaymentSuccessful(...))',
            )
        stored = [r for p in range(2) for r in await broker.read("payments", p)]
    if len(stored) != 1:
        return _fail(f"{len(stored)} events reached 'payments'", "send exactly one event")
    event = decode_message(stored[0].value, stored[0].headers)
    if not isinstance(event, Payment) or (event.amount, event.currency, event.order_id) != (
        4200,
        "USD",
        "order-3",
    ):
        return _fail(
            f"the broker holds {event!r}",
            "42.00 is 4200 minor units; order_id='order-3', currency='usd'",
        )
    if getattr(report, "offset", None) != stored[0].offset:
        return _fail("publish did not return the delivery report", "return what send returns")
    return Check(True, f"stored at {stored[0].topic}[{stored[0].partition}], offset 0")
