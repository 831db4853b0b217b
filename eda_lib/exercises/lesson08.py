"""Self-checking exercises of lesson 08 (Kafka producers and consumers): where a key goes, where a
group starts again after a crash, a consumer that collects each order's events, and an event type
read from a header."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eda_lib.brokers.base import Record, TopicPartition, partition_for_key
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.codecs import KafkaBinary
from eda_lib.core.broker import StartFrom
from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, fail
from eda_lib.messaging import Producer

PREDICTED_KEY = b"order-20"
"""Chosen so that every typical wrong idea lands elsewhere: the first partition (0), librdkafka's
default rule, CRC32 (2), and murmur2 on the 4 partitions of this lesson's other topic (3)."""


def check_partition_prediction(partition: int) -> Check:
    """Lesson 08, exercise 1: on a topic of 3 partitions, where does key 'order-20' go?"""
    expected = partition_for_key(PREDICTED_KEY, 3)
    how = (
        "a key's partition is murmur2 of its bytes, made positive, modulo the partition count: "
        "section 2 computes it with partition_for_key"
    )
    if type(partition) is not int:  # True == 1 in Python, so check the type first
        return fail(f"{partition!r} is not a partition number", how)
    if partition == expected:
        return Check(
            True,
            f"partition {expected}, where eda_lib, aiokafka and Kafka's Java client put it (a "
            "librdkafka producer, like the course's Go ones, does too only with "
            "partitioner=murmur2_random).",
        )
    if not 0 <= partition < 3:
        return fail(f"not partition {partition}: the topic's partitions are 0, 1 and 2", how)
    if partition == zlib.crc32(PREDICTED_KEY) % 3:
        return fail(
            f"not partition {partition}: that is where librdkafka's default rule (CRC32) puts it, "
            "the course's Go client; eda_lib hashes with murmur2, as Kafka's Java client does",
            how,
        )
    if partition == 0:
        return fail("not partition 0: a key picks its partition by its hash, not the first", how)
    return fail(f"not partition {partition}", how)


async def check_restart_offset(offset: int) -> Check:
    """Lesson 08, exercise 2: a member reads 5 events of a 1-partition topic, commits after the
    first 3, and crashes. At which offset does the next member of the group start?"""
    if type(offset) is not int:  # 3.0 and True compare equal to numbers: check the type first
        return fail(f"{offset!r} is not an offset", "an offset is a whole number (an int)")
    broker = InMemoryBroker()
    await broker.create_topic("t")
    producer = Producer(broker)
    for n in range(5):
        await producer.send(
            "t", PaymentSuccessful(payment_id=f"p{n}", order_id="o", amount=1, currency="USD")
        )
    await broker.join("g", ["t"], member="first", start="earliest")
    await broker.poll("g", "first", max_records=5)
    await broker.commit("g", "first", {TopicPartition("t", 0): 3})
    await broker.leave("g", "first")
    await broker.join("g", ["t"], member="second", start="earliest")
    start = (await broker.poll("g", "second", max_records=1)).records[0].offset
    if offset != start:
        return fail(
            f"not offset {offset}",
            "a committed offset is the next one to read, and only commits survive a crash",
        )
    return Check(True, f"offset {start}: events 3 and 4 are delivered again, 0-2 are not.")


def _order_story() -> list[Event]:
    return [
        OrderCreated(order_id="order-1", customer_id="ada", amount=2500),
        OrderCreated(order_id="order-2", customer_id="bob", amount=4000),
        OrderApproved(order_id="order-1"),
        OrderCreated(order_id="order-3", customer_id="cy", amount=990),
        OrderCancelled(order_id="order-2", reason="out of stock"),
        OrderApproved(order_id="order-3"),
    ]


def _other_story() -> list[Event]:
    """Three other orders, six events again: a `collect` that returns a fixed answer fails here."""
    return [
        OrderCreated(order_id="order-7", customer_id="dee", amount=700),
        OrderCreated(order_id="order-8", customer_id="eve", amount=800),
        OrderCancelled(order_id="order-7", reason="changed their mind"),
        OrderCreated(order_id="order-9", customer_id="fay", amount=900),
        OrderApproved(order_id="order-9"),
        OrderApproved(order_id="order-8"),
    ]


class _StartWatch(InMemoryBroker):
    """An in-memory broker that remembers where each joining member asked to start."""

    def __init__(self, *, seed: int) -> None:
        super().__init__(seed=seed)
        self.starts: list[StartFrom] = []

    async def join(
        self, group: str, topics: Sequence[str], *, member: str, start: StartFrom
    ) -> None:
        self.starts.append(start)
        await super().join(group, topics, member=member, start=start)


async def check_order_collector(collect: Callable[[Any], Awaitable[Any]]) -> Check:
    """Lesson 08, exercise 3: `collect(broker)` reads the topic 'orders' as group 'collector'
    from the earliest offset, returns each order's event types in the order they happened, and
    commits what it read, each record after handling it (at least once). It runs twice, on the
    lesson's six events and then on six of other orders, so a fixed answer fails."""
    for run, story in enumerate((_order_story(), _other_story())):
        refused = await _collect_once(collect, story, again=run > 0)
        if refused is not None:
            return refused
    return Check(
        True,
        "every order's events in order, on the lesson's orders and on three others, and each "
        "time the group committed all 6, each after handling it",
    )


async def _collect_once(
    collect: Callable[[Any], Awaitable[Any]], story: list[Event], *, again: bool
) -> Check | None:
    """Run `collect` on a broker of its own holding `story`: None if all is well, else why not."""
    async with _StartWatch(seed=3) as broker:
        await broker.create_topic("orders", partitions=3)
        await Producer(broker, "order-service").send_all("orders", story)
        try:
            result = await collect(broker)
        except Exception as error:
            return fail(f"your code raised {type(error).__name__}: {error}", "run it step by step")
        state = await broker.describe()
    expected: dict[str, list[str]] = {}
    for event in story:
        expected.setdefault(getattr(event, "order_id", ""), []).append(event.event_type)
    if dict(result or {}) != expected:
        if not result and "latest" in broker.starts:
            return fail(
                f"got {result}: your group started at 'latest'",
                "a new group at 'latest' begins at the end of the log and reads only what is "
                "sent after it joins; the 6 events were there before: start='earliest'",
            )
        if again:
            return fail(
                f"on a topic of three other orders, got {result}, expected {expected}",
                "return what your handler collected from the topic, not a fixed answer",
            )
        return fail(
            f"got {result}, expected {expected}",
            "one handler appends event.event_type to a list per event.order_id; run until 6",
        )
    if not state.has_group("collector") or state.group("collector").total_lag:
        return fail(
            "the group 'collector' has not committed everything it read",
            "use Consumer(broker, 'collector', 'orders', handler, start='earliest') and run it: "
            "it commits",
        )
    early = _committed_before_handled(broker, "collector")
    if early is None:
        return fail(
            "the check cannot see when your code handled each event, so it cannot tell a commit "
            "after handling from one before it: only a Consumer records its handling (a "
            "'handled' hop per event in broker.trace)",
            "use a Consumer for group 'collector': it commits after handling unless told not to",
        )
    if early:
        return fail(
            f"the group committed {early} before handling it: at most once (commit='before'), "
            "so a crash there loses that event",
            "commit after handling (at least once): Consumer's default, commit='each'",
        )
    return None


def _committed_before_handled(broker: InMemoryBroker, group: str) -> str | None:
    """The first record that `group` committed past before its consumer had handled it, as
    'orders[p]@o', or ''. Known only from a `Consumer`'s 'handled' hops: for a loop of raw
    polls, which leaves none, None (cannot be judged, which the check refuses)."""
    hops = [h for h in broker.trace if h.group == group]
    if not any(h.kind == "handled" for h in hops):
        return None
    handled: set[tuple[int, int]] = set()
    for hop in hops:
        if hop.kind == "handled":
            handled.add((hop.partition, hop.offset))
        elif hop.kind == "committed":
            for offset in range(hop.offset):
                if (hop.partition, offset) not in handled:
                    return f"{hop.topic}[{hop.partition}]@{offset}"
    return ""


def check_type_header(event_type_of: Callable[[Any], str]) -> Check:
    """Lesson 08, exercise 4: read a record's event type from its `ce_type` header, as course
    chapter 4 dispatches on a header, without decoding the value. Headers come in no set order:
    every other record carries `content-type` (whose name holds 'type' too) before `ce_type`,
    the others after it, so neither a lookup by position nor one by a part of the name works."""
    codec = KafkaBinary()
    for n, event in enumerate(_order_story()):
        headers = codec.encode(event)[1]
        if n % 2 == 0:  # content-type first
            headers = tuple(sorted(headers, key=lambda header: header[0] != "content-type"))
        record = Record("orders", 0, 0, None, b"not looked at", headers, event.time)
        try:
            got = event_type_of(record)
        except Exception as error:
            return fail(f"your code raised {type(error).__name__}: {error}", "print headers")
        if got != event.event_type:
            other = next((name for name, value in headers if got in (value, value.decode())), "")
            if not other:
                return fail(
                    f"got {got!r} for an {event.event_type}",
                    "print record.headers: a tuple of (name, bytes) pairs, in no set order; "
                    "the task names the header that holds the type",
                )
            return fail(
                f"got {got!r} for an {event.event_type}: the value of the header '{other}'",
                "record.headers is a tuple of (name, bytes) pairs in no set order, and more than "
                "one name holds 'type': find the one named exactly 'ce_type', decode it",
            )
    return Check(
        True,
        "the type from the header named 'ce_type' alone, for every kind of order event, "
        "wherever it stood among the headers",
    )


_BEFORE = {"a": {0, 2, 4}, "b": {1, 3, 5}}
_AFTER = {"a": {2, 4}, "b": {3, 5}, "c": {0, 1}}
"""The scenario of exercise 5 (a member `c` joins `a` and `b` on 6 partitions), chosen so that
each typical wrong idea gives another answer than the right one under one strategy or both."""


def check_stopped_partitions(
    stopped: Callable[[str, dict[str, set[int]], dict[str, set[int]]], Any],
) -> Check:
    """Lesson 08, exercise 5: `stopped(strategy, before, after)` returns, for each member that
    had partitions before the rebalance, the set of them it is told to give up (its `on_revoke`
    partitions), under `partition.assignment.strategy` "range" (eager) or "cooperative-sticky"."""
    how = (
        "section 11 counted what each member's on_revoke was given under each strategy: "
        "compare each member's partitions before with its partitions after"
    )
    expected = {
        "range": {name: set(had) for name, had in _BEFORE.items()},
        "cooperative-sticky": {name: had - _AFTER[name] for name, had in _BEFORE.items()},
    }
    for strategy, right in expected.items():
        before = {name: set(had) for name, had in _BEFORE.items()}  # copies: the answer may edit
        after = {name: set(has) for name, has in _AFTER.items()}
        try:
            got = stopped(strategy, before, after)
        except Exception as error:
            return fail(f"your function raised {type(error).__name__}: {error}", how)
        if not isinstance(got, dict) or not all(isinstance(v, set) for v in got.values()):
            return fail(
                f"{got!r} is not a dict of sets of partitions", "return {member: {partitions}}"
            )
        got = {name: parts for name, parts in got.items() if name in right or parts}
        if got == right:
            continue
        gained = {name: _AFTER[name] - _BEFORE.get(name, set()) for name in _AFTER}
        if any(got.get(name) == parts and parts for name, parts in gained.items()):
            return fail(
                f"under {strategy} you returned {got}: those are partitions a member gains",
                "on_revoke is told what a member gives up, from what it had before",
            )
        if strategy == "range":
            return fail(
                f"under range you returned {got}",
                "range is eager: at a rebalance every member gives up all it had, even the "
                "partitions it gets back a moment later",
            )
        return fail(
            f"under cooperative-sticky you returned {got}",
            "cooperative-sticky revokes only the partitions that move to another member; "
            "the rest are consumed through the rebalance",
        )
    return Check(
        True,
        "range revokes every partition of every member; cooperative-sticky only the ones that "
        "move (here 0 from a and 1 from b).",
    )
