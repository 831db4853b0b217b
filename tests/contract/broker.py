"""The broker contract: written once, run against every broker (subclass `BrokerContract`, or
`CoreContract` for the teaching core, and give it a `broker` fixture). Timing is never asserted;
where a real broker may take a moment, the tests poll with a timeout until the records arrive."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner

from eda_lib import (
    Broker,
    BrokerError,
    CommitFailed,
    Consumer,
    PaymentSuccessful,
    Producer,
    Record,
    TopicPartition,
    UnknownTopic,
)
from eda_lib.brokers import Retention
from eda_lib.compaction import KeyRequired, read_table
from eda_lib.explorer import explore, messages

_ids = itertools.count()
SEGMENT_SECONDS = 1.1  # past a compacted topic's segment.ms (1 s, eda_lib.compaction)


def payment(i: int, order: str | None = None) -> PaymentSuccessful:
    return PaymentSuccessful(
        payment_id=f"pay-{i}", order_id=order or f"order-{i}", amount=100 + i, currency="EUR"
    )


async def drain(
    broker: Broker, group: str, member: str, count: int, timeout: float = 10.0
) -> list[Record]:
    """Poll until `count` records arrived (or the timeout passed); returns what came."""
    records: list[Record] = []
    for _ in range(200):
        if len(records) >= count:
            break
        batch = await broker.poll(
            group, member, max_records=count - len(records), timeout=timeout / 20
        )
        records.extend(batch.records)
    return records


class CoreContract:
    """The cases every broker passes, the teaching core's `CoreBroker` included: offsets, key
    placement, order within a partition, groups and rebalancing, commits and redelivery, where a
    new group starts, refused commits, dead letters. Subclass it and give it a `broker` fixture."""

    async def expected_partitions(
        self, topic: str, keys: Sequence[str], partitions: int
    ) -> dict[str, int]:
        """Where Kafka puts each key of `topic` (which has `partitions` partitions): the oracle
        for key placement, so it must not be the library's own partitioner. By default Kafka's
        Python client decides, called as its producer calls it; a broker test with a real
        cluster may ask that cluster instead."""
        choose = DefaultPartitioner()
        every = list(range(partitions))
        return {key: choose(key.encode(), every, every) for key in keys}

    # Unique names: a real broker may outlive the test session that created its topics.
    @pytest.fixture
    def topic(self) -> str:
        return f"contract-{uuid.uuid4().hex[:10]}"

    @pytest.fixture
    def group(self) -> str:
        return f"group-{uuid.uuid4().hex[:10]}"

    async def test_offsets_are_consecutive_and_readable(self, broker: Broker, topic: str) -> None:
        await broker.create_topic(topic, partitions=3)
        producer = Producer(broker)
        reports = [await producer.send(topic, payment(i)) for i in range(12)]
        per_partition: dict[int, list[int]] = {}
        for report in reports:
            per_partition.setdefault(report.partition, []).append(report.offset)
        for partition, offsets in per_partition.items():
            assert offsets == list(range(len(offsets)))
            stored = await broker.read(topic, partition)
            assert [r.offset for r in stored] == offsets
        assert sum(len(o) for o in per_partition.values()) == 12

    async def test_a_key_lands_where_kafka_puts_it(self, broker: Broker, topic: str) -> None:
        await broker.create_topic(topic, partitions=5)
        orders = ("order-1", "order-2", "a-little-bit-long-string", "ünïcode")
        expected = await self.expected_partitions(topic, orders, 5)
        # These keys spread over several partitions, so one fixed answer cannot pass.
        assert set(expected) == set(orders) and len(set(expected.values())) > 1
        producer = Producer(broker)
        for order in orders:
            reports = [await producer.send(topic, payment(i, order)) for i in range(3)]
            assert {r.partition for r in reports} == {expected[order]}, (order, reports)

    async def test_unkeyed_messages_spread(self, broker: Broker, topic: str) -> None:
        await broker.create_topic(topic, partitions=3)
        producer = Producer(broker)
        reports = [await producer.send(topic, payment(i), key=None) for i in range(60)]
        assert {r.partition for r in reports} == {0, 1, 2}

    async def test_order_within_a_partition_is_kept(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=2)
        producer = Producer(broker)
        sent = [payment(i, order="same-order") for i in range(20)]
        for event in sent:
            await producer.send(topic, event)
        seen: list[str] = []
        async with Consumer(
            broker, group, topic, lambda e: seen.append(e.payment_id), name="m", start="earliest"
        ) as consumer:
            await consumer.run(max_events=20, timeout=20)
        assert seen == [e.payment_id for e in sent]

    async def test_a_group_divides_partitions_among_members(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=3)
        await broker.join(group, [topic], member="a", start="earliest")
        await broker.join(group, [topic], member="b", start="earliest")
        a = await broker.assignment(group, "a")
        b = await broker.assignment(group, "b")
        assert set(a).isdisjoint(b)
        assert set(a) | set(b) == {TopicPartition(topic, p) for p in range(3)}
        assert a and b
        await broker.leave(group, "b")
        assert set(await broker.assignment(group, "a")) == {
            TopicPartition(topic, p) for p in range(3)
        }
        await broker.leave(group, "a")

    async def test_every_group_gets_every_event(self, broker: Broker, topic: str) -> None:
        await broker.create_topic(topic, partitions=2)
        producer = Producer(broker)
        for i in range(8):
            await producer.send(topic, payment(i))
        got: dict[str, list[str]] = {"shipping": [], "analytics": []}
        for name, seen in got.items():
            async with Consumer(
                broker,
                f"{topic}-{name}",
                topic,
                lambda e, seen=seen: seen.append(e.payment_id),
                name="m",
                start="earliest",
            ) as consumer:
                await consumer.run(max_events=8, timeout=20)
        assert (
            sorted(got["shipping"])
            == sorted(got["analytics"])
            == sorted(f"pay-{i}" for i in range(8))
        )

    async def test_what_was_not_committed_is_delivered_again(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        producer = Producer(broker)
        for i in range(6):
            await producer.send(topic, payment(i))
        await broker.join(group, [topic], member="first", start="earliest")
        delivered = await drain(broker, group, "first", 6)
        assert [r.offset for r in delivered] == list(range(6))
        await broker.commit(group, "first", {TopicPartition(topic, 0): 2})  # handled 0 and 1
        await broker.leave(group, "first")  # ... then went away
        await broker.join(group, [topic], member="second", start="earliest")
        again = await drain(broker, group, "second", 4)
        assert [r.offset for r in again] == [2, 3, 4, 5]
        await broker.leave(group, "second")

    async def test_a_new_group_starts_at_earliest_or_latest(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        producer = Producer(broker)
        for i in range(3):
            await producer.send(topic, payment(i))
        await broker.join(group + "-old", [topic], member="m", start="earliest")
        await broker.join(group + "-new", [topic], member="m", start="latest")
        assert [r.offset for r in await drain(broker, group + "-old", "m", 3)] == [0, 1, 2]
        await producer.send(topic, payment(3))
        assert [r.offset for r in await drain(broker, group + "-new", "m", 1)] == [3]
        await broker.leave(group + "-old", "m")
        await broker.leave(group + "-new", "m")

    async def test_a_member_cannot_commit_a_partition_it_lost(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=2)
        await broker.join(group, [topic], member="a", start="earliest")
        await broker.join(group, [topic], member="b", start="earliest")
        lost = (await broker.assignment(group, "b"))[0]
        with pytest.raises(CommitFailed):
            await broker.commit(group, "a", {lost: 0})
        await broker.leave(group, "a")
        await broker.leave(group, "b")

    async def test_producing_to_a_missing_topic_says_how_to_fix_it(self, broker: Broker) -> None:
        with pytest.raises(UnknownTopic, match="create_topic"):
            await Producer(broker).send(f"missing-{next(_ids)}", payment(0))

    async def test_a_bad_record_is_dead_lettered_and_the_consumer_goes_on(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        producer = Producer(broker)
        await producer.send(topic, payment(0))
        await broker.produce(topic, b"{not json", key=b"order-x")
        await producer.send(topic, payment(1))
        seen: list[str] = []
        async with Consumer(
            broker, group, topic, lambda e: seen.append(e.payment_id), name="m", start="earliest"
        ) as consumer:
            report = await consumer.run(max_events=3, timeout=20)
        assert seen == ["pay-0", "pay-1"]
        assert (report.handled, report.dead_lettered) == (2, 1)
        [dead] = await broker.read(topic + ".dead-letter", 0)
        assert dead.value == b"{not json" and dead.key == b"order-x"
        assert dead.header("dlt-reason") == b"not_json"
        assert dead.header("dlt-source") == f"{topic}[0]@1".encode()
        await self.after_dead_letter(broker, group)

    async def after_dead_letter(self, broker: Broker, group: str) -> None:
        """What a broker that can be inspected also shows after the dead-letter case."""


class BrokerContract(CoreContract):
    """The whole contract, for the library's brokers: the core's cases, and what they add (a
    trace, inspection, deleting topics, seeking)."""

    async def after_dead_letter(self, broker: Broker, group: str) -> None:
        assert (await broker.describe()).group(group).total_lag == 0  # the bad record was committed

    async def test_events_wait_while_a_group_is_down(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=2)
        producer = Producer(broker)
        seen: list[str] = []
        async with Consumer(
            broker, group, topic, lambda e: seen.append(e.payment_id), name="m", start="earliest"
        ) as consumer:
            await producer.send(topic, payment(0))
            await consumer.run(max_events=1, timeout=20)
        for i in range(1, 6):
            await producer.send(topic, payment(i))
        state = await broker.describe()
        assert state.group(group).total_lag == 5
        async with consumer:  # the same consumer, back
            await consumer.run(max_events=5, timeout=20)
        assert sorted(seen) == [f"pay-{i}" for i in range(6)]
        assert (await broker.describe()).group(group).total_lag == 0

    async def test_describe_narrowed_to_topics_shows_only_them_and_their_readers(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        other = f"{topic}-other"
        await broker.create_topic(topic, partitions=2)
        await broker.create_topic(other)
        await Producer(broker).send(other, payment(1))
        async with Consumer(
            broker, group, topic, lambda e: None, name="m", start="earliest"
        ) as consumer:
            await Producer(broker).send(topic, payment(0))
            await consumer.run(max_events=1, timeout=20)
            async with Consumer(
                broker, f"{group}-o", other, lambda e: None, name="o", start="earliest"
            ):
                narrowed = await broker.describe([topic])
        assert {p.topic for p in narrowed.partitions} == {topic, f"{topic}.dead-letter"}
        assert [g.group for g in narrowed.groups] == [group]
        assert narrowed.group(group).total_lag == 0
        await broker.delete_topic(other)

    async def test_a_tombstone_travels_as_a_null_value_and_a_consumer_moves_past_it(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        await Producer(broker).send(topic, payment(0, order="o-1"))
        stored = await broker.produce(topic, None, key=b"o-1")
        await Producer(broker).send(topic, payment(1, order="o-1"))
        [read] = await broker.read(topic, 0, start=stored.offset, limit=1)
        assert (read.key, read.value) == (b"o-1", None)
        seen: list[str] = []
        async with Consumer(
            broker, group, topic, lambda e: seen.append(e.payment_id), name="m", start="earliest"
        ) as consumer:
            stats = await consumer.run(max_events=3, timeout=20)
        assert seen == ["pay-0", "pay-1"]  # the tombstone held no event, and did not stop it
        assert (stats.handled, stats.ignored, stats.dead_lettered) == (2, 1, 0)
        assert (await broker.describe()).group(group).total_lag == 0

    async def test_compaction_keeps_the_last_value_per_key_and_a_tombstone_removes_its_key(
        self, broker: Broker, topic: str
    ) -> None:
        await broker.create_topic(topic, partitions=1, retention=Retention(compact=True))
        for key, value in [(b"a", b"1"), (b"b", b"1"), (b"a", b"2"), (b"b", None), (b"c", b"1")]:
            await broker.produce(topic, value, key=key)
        await asyncio.sleep(SEGMENT_SECONDS)  # Kafka closes the segment at the next record
        await broker.produce(topic, b"1", key=b"d")
        assert await broker.compact(topic) == 2  # a=1 and b=1: each has a later record
        kept = [(r.offset, r.key, r.value) for r in await broker.read(topic, 0)]
        assert kept == [(2, b"a", b"2"), (3, b"b", None), (4, b"c", b"1"), (5, b"d", b"1")]
        assert await read_table(broker, topic) == {b"a": b"2", b"c": b"1", b"d": b"1"}

    async def test_compaction_removes_a_tombstone_once_delete_retention_has_passed(
        self, broker: Broker, topic: str
    ) -> None:
        retention = Retention(compact=True, delete_retention=timedelta(0))
        await broker.create_topic(topic, partitions=1, retention=retention)
        for key, value in [(b"a", b"1"), (b"b", b"1"), (b"b", None)]:
            await broker.produce(topic, value, key=key)
        kept: list[tuple[int, bytes | None]] = []
        for n in range(20):  # each round closes a segment, so that the cleaner runs again
            await asyncio.sleep(SEGMENT_SECONDS)
            await broker.produce(topic, b"1", key=f"new-{n}".encode())
            await broker.compact(topic)
            kept = [(r.offset, r.key) for r in await broker.read(topic, 0)]
            if (2, b"b") not in kept:
                break
        assert kept[0] == (0, b"a") and (2, b"b") not in kept and (1, b"b") not in kept

    async def test_compaction_refuses_a_record_without_a_key(
        self, broker: Broker, topic: str
    ) -> None:
        await broker.create_topic(topic, partitions=1, retention=Retention(compact=True))
        with pytest.raises(KeyRequired, match="give every record a key"):
            await broker.produce(topic, b"no key")

    async def test_the_trace_accounts_for_every_hop(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        producer = Producer(broker, "payment-service")
        await producer.send(topic, payment(0))
        async with Consumer(
            broker, group, topic, lambda e: None, name="m", start="earliest"
        ) as consumer:
            await consumer.run(max_events=1, timeout=20)
        kinds = Counter(h.kind for h in broker.trace if h.topic == topic)
        assert {
            k: kinds[k] for k in ("produced", "stored", "delivered", "handled", "committed")
        } == dict.fromkeys(("produced", "stored", "delivered", "handled", "committed"), 1)

    async def test_a_deleted_topic_is_gone(self, broker: Broker, topic: str, group: str) -> None:
        await broker.create_topic(topic, partitions=2)
        await broker.join(group, [topic], member="reader", start="earliest")
        with pytest.raises(BrokerError, match="still reads"):
            await broker.delete_topic(topic)
        await broker.leave(group, "reader")
        assert (await broker.topics())[topic] == 2
        await broker.delete_topic(topic)
        assert topic not in await broker.topics()
        with pytest.raises(UnknownTopic):
            await Producer(broker).send(topic, payment(0))

    async def test_the_explorer_shows_offsets_messages_and_lag(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=2)
        producer = Producer(broker)
        reports = [await producer.send(topic, payment(i, order="same")) for i in range(3)]
        reports.append(await broker.produce(topic, b"junk", key=b"same"))
        async with Consumer(
            broker, group, topic, lambda e: None, name="m", start="earliest"
        ) as consumer:
            await consumer.run(max_events=2, timeout=20)
        # The delivery reports, not the explorer, say where the records went.
        [partition] = {r.partition for r in reports}
        rows = await messages(broker, topic)
        assert [(r.partition, r.offset, r.key, r.event_type) for r in rows] == [
            (partition, 0, "same", "PaymentSuccessful"),
            (partition, 1, "same", "PaymentSuccessful"),
            (partition, 2, "same", "PaymentSuccessful"),
            (partition, 3, "same", "?"),
        ]
        assert rows[0].summary.startswith("payment_id=pay-0, order_id=same")
        assert rows[3].summary == "unreadable (not_json)"
        lines = [line.split() for line in (await explore(broker, topic)).splitlines()]
        assert [topic, str(partition), "0", "4", "4"] in lines  # first, next offset, count
        assert [group, f"{topic}[{partition}]", "(none)", "2", "2"] in lines  # committed, lag

    async def test_seek_replays_from_an_old_offset(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=1)
        for i in range(5):
            await Producer(broker).send(topic, payment(i))
        await broker.join(group, [topic], member="m", start="earliest")
        assert [r.offset for r in await drain(broker, group, "m", 5)] == [0, 1, 2, 3, 4]
        await broker.seek(group, "m", TopicPartition(topic, 0), 2)
        assert [r.offset for r in await drain(broker, group, "m", 3)] == [2, 3, 4]
        with pytest.raises(BrokerError, match="does not own"):
            await broker.seek(group, "m", TopicPartition(topic + "-other", 0), 0)
        await broker.leave(group, "m")


    async def test_added_partitions_take_keys_by_the_new_count(
        self, broker: Broker, topic: str, group: str
    ) -> None:
        await broker.create_topic(topic, partitions=3)
        keys = [f"order-{n}" for n in range(40)]
        before = await self.expected_partitions(topic, keys, 3)  # (on Kafka, probes: 40 records)
        producer = Producer(broker)
        first = {k: (await producer.send(topic, payment(0, k))).partition for k in keys}
        stored = [len(await broker.read(topic, p, limit=1000)) for p in range(3)]
        await broker.join(group, [topic], member="m", start="earliest")
        await broker.add_partitions(topic, 4)
        assert (await broker.topics())[topic] == 4
        # The group reading it owns the new partition, and the old records stayed put.
        assert TopicPartition(topic, 3) in await broker.assignment(group, "m")
        assert [len(await broker.read(topic, p, limit=1000)) for p in range(3)] == stored
        after = await self.expected_partitions(topic, keys, 4)
        moved = {k for k in keys if before[k] != after[k]}
        assert moved and len(moved) < len(keys)  # so both halves below are tested
        then = {k: (await producer.send(topic, payment(1, k))).partition for k in keys}
        assert first == before and then == after
        total = sum([len(await broker.read(topic, p, limit=1000)) for p in range(4)])
        records = await drain(broker, group, "m", total, timeout=20)
        ours = [r for r in records if r.value != b"placement probe"]
        assert len(ours) == 2 * len(keys)
        assert {r.partition for r in ours} == {0, 1, 2, 3}
        await broker.leave(group, "m")

    async def test_a_topic_cannot_shrink_or_stay(self, broker: Broker, topic: str) -> None:
        await broker.create_topic(topic, partitions=3)
        for wrong in (3, 2):
            with pytest.raises(ValueError, match="can only grow"):
                await broker.add_partitions(topic, wrong)
        with pytest.raises(UnknownTopic):
            await broker.add_partitions(topic + "-missing", 4)
        assert (await broker.topics())[topic] == 3
