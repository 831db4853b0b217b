"""Random interleavings of produce, consume, commit, crash and rejoin on the in-memory broker:
order within a partition is kept, committed offsets never go back, and no event is lost or
invented."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib import (
    Consumer,
    DeliveryReport,
    InMemoryBroker,
    PaymentSuccessful,
    Producer,
    Record,
    TopicPartition,
    deserialize,
)
from tests.contract.broker import payment

MEMBERS = ("a", "b", "c")
member_ids = st.integers(0, len(MEMBERS) - 1)
keys = st.none() | st.sampled_from(["o1", "o2", "o3", "o4", "o5"])

consumer_ops = st.lists(
    st.one_of(
        st.tuples(st.just("produce"), keys),
        st.tuples(st.just("run"), member_ids, st.integers(1, 6)),
        st.tuples(st.just("stop"), member_ids),
        st.tuples(st.just("start"), member_ids),
    ),
    min_size=10,
    max_size=60,
)


@pytest.mark.parametrize("commit", ["each", "batch"])
@settings(max_examples=200, deadline=None)
@given(partitions=st.integers(1, 4), ops=consumer_ops)
def test_consumers_in_a_group_handle_each_event_once_in_order(
    commit: str, partitions: int, ops: list[tuple]
) -> None:
    asyncio.run(_consumers_scenario(partitions, ops, commit))


async def _consumers_scenario(partitions: int, ops: list[tuple], commit: str = "each") -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=partitions)
    producer = Producer(broker)
    # What was handled is judged by the test's own records, not the consumer's trace: what it
    # sent (the delivery reports say where each event went) and what the handlers say they did.
    sent: list[tuple[UUID, DeliveryReport]] = []
    handled: list[tuple[str, UUID]] = []  # (member, event id), as the handlers ran

    def handler_of(member: str) -> Callable[[PaymentSuccessful], None]:
        def handle(event: PaymentSuccessful) -> None:
            handled.append((member, event.id))

        return handle

    consumers = [
        Consumer(
            broker, "g", "t", handler_of(n), name=n, batch_size=3, commit=commit, start="earliest"
        )  # type: ignore[arg-type]
        for n in MEMBERS
    ]

    async def run(consumer: Consumer, max_events: int | None = None) -> None:
        before = len(handled)
        await consumer.run(max_events=max_events)
        # A run stops at its limit.
        assert max_events is None or len(handled) - before <= max_events

    for op in ops:
        if op[0] == "produce":
            event = payment(len(sent), op[1])
            sent.append((event.id, await producer.send("t", event, key=op[1])))
            continue
        wanted_running = op[0] != "start"
        pool = [c for c in consumers if c.running == wanted_running]
        if not pool:
            continue
        consumer = pool[op[1] % len(pool)]
        if op[0] == "run":
            await run(consumer, op[2])
        elif op[0] == "stop":
            await consumer.stop()
        else:
            await consumer.start()
    # Whatever happened, one live member eventually drains the topic.
    if not any(c.running for c in consumers):
        await consumers[0].start()
    for consumer in consumers:
        if consumer.running:
            await run(consumer)

    produced: dict[int, list[UUID]] = defaultdict(list)
    for event_id, report in sent:
        produced[report.partition].append(event_id)
    partition_of = {event_id: report.partition for event_id, report in sent}
    got: dict[int, list[UUID]] = defaultdict(list)
    for _, event_id in handled:
        assert event_id in partition_of  # nothing invented
        got[partition_of[event_id]].append(event_id)
    assert got == produced  # per partition: each event once, in the order produced
    committed: dict[int, int] = {}
    for hop in broker.trace.select("committed", group="g"):
        assert hop.offset >= committed.get(hop.partition, 0)  # never goes back
        committed[hop.partition] = hop.offset
    assert (await broker.describe()).group("g").total_lag == 0


broker_ops = st.lists(
    st.one_of(
        st.tuples(st.just("produce"), keys),
        st.tuples(st.just("poll"), member_ids, st.integers(1, 5)),
        st.tuples(st.just("commit"), member_ids, st.integers(0, 5)),
        st.tuples(st.just("crash"), member_ids),
        st.tuples(st.just("join"), member_ids),
    ),
    min_size=10,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(partitions=st.integers(1, 4), ops=broker_ops)
def test_uncommitted_deliveries_come_back_after_a_crash(partitions: int, ops: list[tuple]) -> None:
    asyncio.run(_broker_scenario(partitions, ops))


async def _broker_scenario(partitions: int, ops: list[tuple]) -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=partitions)
    producer = Producer(broker)
    live: set[str] = set()
    in_flight: dict[str, list[Record]] = defaultdict(list)  # polled, not yet handled
    handled: dict[int, list[int]] = defaultdict(list)
    committed: dict[TopicPartition, int] = {}
    next_expected: dict[TopicPartition, int] = {}

    def rebalanced() -> None:
        # Like a real client, drop what was fetched before the rebalance and restart every
        # partition from its committed offset.
        in_flight.clear()
        next_expected.clear()

    sent: dict[tuple[int, int], UUID] = {}  # (partition, offset) -> event id, from the reports

    for number, op in enumerate(ops):
        # Member numbers pick among the live (or, to join, the absent) members, so few
        # operations are no-ops and hypothesis explores more interleavings.
        members = sorted(live) if op[0] != "join" else sorted(set(MEMBERS) - live)
        member = members[op[1] % len(members)] if members and op[0] != "produce" else ""
        if op[0] == "produce":
            event = payment(number, op[1])
            report = await producer.send("t", event, key=op[1])
            sent[(report.partition, report.offset)] = event.id
        elif not member:
            continue
        elif op[0] == "join":
            await broker.join("g", ["t"], member=member, start="earliest")
            live.add(member)
            rebalanced()
        elif op[0] == "crash":
            await broker.leave("g", member)  # without committing what it holds
            live.discard(member)
            rebalanced()
        elif op[0] == "poll":
            for record in (await broker.poll("g", member, max_records=op[2])).records:
                tp = TopicPartition(record.topic, record.partition)
                expected = next_expected.get(tp, committed.get(tp, 0))
                assert record.offset == expected  # contiguous, from the committed offset
                # The very event the producer was told is stored there: nothing invented.
                assert deserialize(record.value).id == sent[(record.partition, record.offset)]
                next_expected[tp] = expected + 1
                in_flight[member].append(record)
        elif op[0] == "commit":
            held = in_flight[member]
            done, in_flight[member] = held[: op[2]], held[op[2] :]
            for record in done:
                handled[record.partition].append(record.offset)
                tp = TopicPartition(record.topic, record.partition)
                await broker.commit("g", member, {tp: record.offset + 1})
                assert record.offset + 1 > committed.get(tp, 0)  # never goes back
                committed[tp] = record.offset + 1

    for offsets in handled.values():
        assert offsets == list(range(len(offsets)))  # each handled once, in order
    _committed_never_goes_back(broker, "g")
    for member in sorted(live):  # every member crashes, holding whatever it held
        await broker.leave("g", member)
    await broker.join("g", ["t"], member="last", start="earliest")
    rest = (await broker.poll("g", "last", max_records=10_000)).records
    assert all(deserialize(r.value).id == sent[(r.partition, r.offset)] for r in rest)
    for partition in range(partitions):
        tail = [r.offset for r in rest if r.partition == partition]
        # Nothing lost: what was not handled and committed is still delivered.
        assert handled[partition] + tail == sorted(o for p, o in sent if p == partition)


def _committed_never_goes_back(broker: InMemoryBroker, group: str) -> None:
    committed: dict[tuple[str, int], int] = {}
    for hop in broker.trace.select("committed", group=group):
        key = (hop.topic, hop.partition)
        assert hop.offset >= committed.get(key, 0), f"{key} went back to {hop.offset}"
        committed[key] = hop.offset


# While member a's handler is running (awaiting), other members join or leave.
rebalances = st.lists(
    st.tuples(
        st.integers(1, 25),
        st.sampled_from(["start b", "stop b", "start c", "stop c", "visit b", "visit c"]),
    ),
    max_size=6,
)


@pytest.mark.parametrize("commit", ["each", "batch"])
@settings(max_examples=150, deadline=None)
@given(partitions=st.integers(1, 4), keys=st.lists(keys, min_size=1, max_size=25), plan=rebalances)
def test_rebalances_during_handling_lose_nothing_and_never_move_offsets_back(
    commit: str, partitions: int, keys: list[str | None], plan: list[tuple[int, str]]
) -> None:
    asyncio.run(_rebalance_scenario(commit, partitions, keys, plan))


async def _rebalance_scenario(
    commit: str, partitions: int, keys: list[str | None], plan: list[tuple[int, str]]
) -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=partitions)
    producer = Producer(broker)
    produced: dict[int, list[str]] = defaultdict(list)  # payment ids per partition, as reported
    for number, key in enumerate(keys):
        report = await producer.send("t", payment(number, key), key=key)
        produced[report.partition].append(f"pay-{number}")
    handled: list[str] = []
    others = {
        n: Consumer(
            broker,
            "g",
            "t",
            lambda e: handled.append(e.payment_id),
            name=n,
            commit=commit,
            start="earliest",
        )  # type: ignore[arg-type]
        for n in "bc"
    }
    actions = dict(plan)
    triggered = 0

    async def a_handler(event: object) -> None:
        nonlocal triggered
        handled.append(event.payment_id)  # type: ignore[attr-defined]
        action = actions.pop(len(handled), None)
        if action is not None:
            verb, name = action.split()
            other = others[name]
            if verb == "visit" and not other.running:  # joins, works, leaves: two rebalances
                triggered += 2
                await other.start()
                await other.run()
                await other.stop()
            elif verb != "visit" and (verb == "start") != other.running:
                triggered += 1
                await (other.start() if verb == "start" else other.stop())

    a = Consumer(
        broker, "g", "t", a_handler, name="a", batch_size=4, commit=commit, start="earliest"
    )  # type: ignore[arg-type]
    await a.start()
    await a.run()
    for other in others.values():
        if other.running:
            await other.run()
    await a.run()
    for other in others.values():
        if other.running:
            await other.run()

    assert set(handled) == {f"pay-{n}" for n in range(len(keys))}  # nothing lost or invented
    partition_of = {pay: partition for partition, pays in produced.items() for pay in pays}
    first_handled: dict[int, list[str]] = defaultdict(list)
    for pay in dict.fromkeys(handled):  # a repeat replays from a commit: it never jumps ahead
        first_handled[partition_of[pay]].append(pay)
    assert first_handled == produced
    _committed_never_goes_back(broker, "g")
    assert (await broker.describe()).group("g").total_lag == 0
    if commit == "each":  # at most the event in a's handler repeats, per rebalance
        assert len(handled) - len(keys) <= triggered
