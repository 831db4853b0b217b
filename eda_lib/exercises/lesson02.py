"""Self-checking exercises of lesson 02 (the benefits): a new consumer group beside an old one, how
many members a group keeps busy, the capacity that catches up after an outage, and points awarded
once per payment."""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from eda_lib.brokers.base import TopicPartition
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentSuccessful as Payment
from eda_lib.exercises.checks import Check, crashed, delivered_again, fail, sample_payments
from eda_lib.labs import BacklogLab
from eda_lib.messaging import Consumer, Producer


async def check_audit_group(add_audit: Callable[[InMemoryBroker], Awaitable[list[str]]]) -> Check:
    """Lesson 02, exercise 1: `add_audit(broker)` must start a new consumer group on 'payments'
    and return every payment id it saw, while the shipping group is unaffected."""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=2)
    producer = Producer(broker, "payment-service")
    shipped: list[str] = []
    shipping = Consumer(
        broker, "shipping", "payments", lambda e: shipped.append(e.payment_id), start="earliest"
    )
    await shipping.start()
    for event in sample_payments():
        await producer.send("payments", event)
    await shipping.run()
    if not inspect.iscoroutinefunction(add_audit):
        return fail("add_audit must be an async function", "write `async def add_audit(broker):`")
    try:
        returned: object = await add_audit(broker)  # the learner may return anything
    except Exception as error:  # the learner's code: report, do not crash the lesson
        return crashed(error, "build it step by step: Consumer(...), start, run, return")
    if not isinstance(returned, list | tuple):
        return fail(
            f"add_audit returned {returned!r}, not a list",
            "collect the payment ids in a list, e.g. `seen`, and `return seen` at the end",
        )
    seen = sorted(returned, key=str)  # key=str: whatever it holds, it can be sorted
    expected = sorted(e.payment_id for e in sample_payments())
    state = await broker.describe()
    groups = {g.group for g in state.groups}
    if len(groups) < 2:
        return fail(
            "there is still only one consumer group: 'shipping'",
            "create a Consumer with a new group name, e.g. 'audit', then start and run it "
            "('shipping' has read everything already, so it would read nothing more)",
        )
    if not seen:
        return fail(
            "the audit group saw nothing",
            "a new group starts where `start` says: start='earliest' reads the whole retained "
            "log ('latest' only what comes after it joins); then run it: `await audit.run()`",
        )
    if len(seen) < len(expected):
        return fail(
            f"the audit group saw {len(seen)} of the {len(expected)} payments: {seen}",
            "run it until it is idle, `await audit.run()` without max_events",
        )
    if seen != expected:
        return fail(
            f"add_audit returned {seen}, expected the payment ids {expected}",
            "append each event's payment_id (event.payment_id), once",
        )
    # The right ids could come from elsewhere (the explorer, say): the new group must have read
    # them itself, so it has handled every record and committed up to each partition's end.
    new_groups = sorted(groups - {"shipping"})
    ends = {
        TopicPartition(p.topic, p.partition): p.end_offset
        for p in state.partitions
        if p.topic == "payments"
    }
    records = {(h.group, h.partition, h.offset) for h in broker.trace.select("handled")}
    handled = Counter(group for group, _, _ in records)  # distinct records each group handled
    readers = [
        g
        for g in new_groups
        if handled[g] == len(expected)
        and all(state.group(g).committed.get(tp) == end for tp, end in ends.items())
    ]
    if not readers:
        return fail(
            f"the ids are right, but group '{new_groups[0]}' handled {handled[new_groups[0]]} "
            f"of the {len(expected)} payments itself and did not commit to the end",
            "collect the ids in the audit consumer's own handler: start='earliest', then run it "
            "until it is idle (`await audit.run()`) and return what its handler collected",
        )
    if sorted(shipped) != expected or state.group("shipping").total_lag:
        return fail(
            "the shipping group was disturbed", "use a different group name from 'shipping'"
        )
    return Check(
        True,
        f"the new group '{readers[0]}' handled and committed all 5 payments itself, from the "
        "start, beside the shipping group, which still has all 5 committed.",
    )


async def check_useful_members(answer: int) -> Check:
    """Lesson 02, exercise 2: with 4 partitions, how many members can a group keep busy?"""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=4)
    busy = 0
    for n in range(1, 7):
        await broker.join("shipping", ["payments"], member=f"m{n}", start="earliest")
        owned = [await broker.assignment("shipping", f"m{i}") for i in range(1, n + 1)]
        if all(owned):
            busy = n
    if not isinstance(answer, int) or isinstance(answer, bool):
        return fail(
            f"{answer!r} is a {type(answer).__name__}", "give a whole number, such as 3 (no quotes)"
        )
    if answer != busy:
        return fail(
            f"{answer} is not it",
            "a partition is read by one member of a group at a time; count the partitions",
        )
    return Check(True, f"{busy}: a fifth member would sit idle until another leaves.")


async def check_catch_up_capacity(capacity: int) -> Check:
    """Lesson 02, exercise 3: the consumer is down for 7 ticks at 6 payments per tick. Which
    smallest capacity lets it catch up within 10 ticks of coming back? (42 + 60 = 102 events in
    10 ticks is 10.2 a tick, so 11: an answer rounded down, 10, leaves 2 behind.)"""
    if not isinstance(capacity, int) or capacity < 1:
        return fail(f"{capacity!r} is not a capacity", "give a whole number of events per tick")

    async def catches_up(c: int) -> bool:
        lab = BacklogLab(rate=6, capacity=c)
        await lab.set_consumer(False)
        await lab.tick(7)
        await lab.set_consumer(True)
        await lab.tick(10)
        return lab.history[-1].lag == 0

    if not await catches_up(capacity):
        return fail(
            f"with capacity {capacity} the lag is not 0 ten ticks after the return",
            "the backlog is 7 x 6 = 42; each tick back, the consumer gains (capacity - 6) on it; "
            "a capacity is a whole number of events, so round up",
        )
    if capacity > 1 and await catches_up(capacity - 1):
        return fail(f"{capacity} works, but so does {capacity - 1}", "find the smallest one")
    return Check(True, f"capacity {capacity}: it clears 42 backlog + 60 new in 10 ticks.")


def check_award_once(make_handler: Callable[[Counter[str]], Callable[[Any], None]]) -> Check:
    """Lesson 02, exercise 4: `make_handler(points)` returns a handler that adds one point per
    whole unit paid to `points[order_id]`, once per payment even when a payment is delivered
    again (after a consumer crash, at-least-once delivery repeats events). `points` is a
    Counter, as in the lesson's `award_points`, so `points[k] += n` works."""
    payments = [
        Payment(
            payment_id=f"pay-{n}", order_id=f"order-{n % 2}", amount=1050 * (n + 1), currency="usd"
        )
        for n in range(4)
    ]
    again = delivered_again
    deliveries = [*payments[:3], again(payments[1]), again(payments[2]), payments[3]]
    deliveries.append(again(payments[0]))
    # Two payments of one order for the same amount at the same moment, one delivered twice:
    # both count, once (a key made of the amount, the order or the time cannot tell them apart).
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    twins = [
        Payment(payment_id=f"pay-{n}", order_id="order-9", amount=5000, currency="usd", time=moment)
        for n in (8, 9)
    ]
    points: Counter[str] = Counter()
    twin_points: Counter[str] = Counter()
    try:
        handler = make_handler(points)
        for event in deliveries:
            handler(event)
        twin_handler = make_handler(twin_points)
        for event in (twins[0], twins[1], again(twins[0])):
            twin_handler(event)
    except Exception as error:
        return fail(f"your code raised {type(error).__name__}: {error}", "run it on one event")
    expected = {"order-0": 10 + 31, "order-1": 21 + 42}  # whole units of 10.50, 21.00, 31.50, 42.00
    if points != expected:
        return fail(
            f"points are {dict(points)}, expected {expected} (3 of the 7 deliveries were repeats)",
            "one point per whole unit (amount // 100), and remember each event.id you awarded "
            "and skip those",
        )
    if twin_points != {"order-9": 100}:
        return fail(
            "two payments of 50.00 for order-9 at the same moment, the first delivered twice, "
            f"gave {dict(twin_points)}, expected {{'order-9': 100}}",
            "a repeat is the same event (the same event.id), not the same amount, order or time, "
            "and a redelivered event is a new Python object: id(event) differs",
        )
    return Check(True, "each payment counted once, though three were delivered twice")
