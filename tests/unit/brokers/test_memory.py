"""InMemoryBroker beyond the shared contract: what only an embedded broker can promise (retention
you can watch happen, determinism)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eda_lib import (
    BrokerError,
    Consumer,
    InMemoryBroker,
    Producer,
    Retention,
    TopicPartition,
    UnknownGroup,
    reproducible,
)
from eda_lib.brokers import DuplicateMember, NotOwner, TopicConflict, TopicInUse
from tests.contract.broker import payment


async def test_retention_by_count_drops_the_oldest_and_says_so() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", retention=Retention(max_records=3))
    producer = Producer(broker)
    for i in range(5):
        await producer.send("t", payment(i))
    state = (await broker.describe()).topic("t")[0]
    assert (state.start_offset, state.end_offset) == (2, 5)
    assert [h.offset for h in broker.trace.select("expired")] == [0, 1]


async def test_retention_by_age_follows_the_virtual_clock() -> None:
    with reproducible() as repeat:
        broker = InMemoryBroker()
        await broker.create_topic("t", retention=Retention(max_age=timedelta(hours=1)))
        producer = Producer(broker)
        await producer.send("t", payment(0))
        repeat.clock.advance(1800)
        await producer.send("t", payment(1))
        repeat.clock.advance(1801)
        broker.expire()
        assert [r.offset for r in await broker.read("t", 0)] == [1]


async def test_a_group_behind_retention_resumes_at_the_oldest_kept_record() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t", retention=Retention(max_records=2))
    producer = Producer(broker)
    seen: list[str] = []
    consumer = Consumer(
        broker, "g", "t", lambda e: seen.append(e.payment_id), name="m", start="earliest"
    )
    for i in range(5):
        await producer.send("t", payment(i))
    await consumer.start()
    await consumer.run()
    assert seen == ["pay-3", "pay-4"]
    assert len(broker.trace.select("expired")) == 3  # the other three are accounted for


async def test_the_same_seed_gives_the_same_run() -> None:
    async def run(seed: int) -> list[tuple[int, int, str]]:
        with reproducible(seed):
            broker = InMemoryBroker(seed=seed)
            await broker.create_topic("t", partitions=4)
            producer = Producer(broker)
            for i in range(30):
                await producer.send("t", payment(i), key=None)
            consumers = [
                Consumer(broker, "g", "t", lambda e: None, name=n, start="earliest") for n in "ab"
            ]
            for consumer in consumers:
                await consumer.start()
            for consumer in consumers:
                await consumer.run()
            return [(h.partition, h.offset, h.actor) for h in broker.trace.select("handled")]

    assert await run(1) == await run(1)
    assert await run(1) != await run(2)


async def test_invalid_arguments_are_refused_clearly() -> None:
    broker = InMemoryBroker()
    with pytest.raises(ValueError, match="at least 1 partition"):
        await broker.create_topic("t", partitions=0)
    await broker.create_topic("t", partitions=2)
    with pytest.raises(Exception, match="exists with 2 partitions"):
        await broker.create_topic("t", partitions=3)
    with pytest.raises(ValueError, match="earliest"):
        await broker.join("g", ["t"], member="m", start="middle")  # type: ignore[arg-type]
    await broker.join("g", ["t"], member="m", start="earliest")
    with pytest.raises(Exception, match="already a member"):
        await broker.join("g", ["t"], member="m", start="earliest")
    with pytest.raises(ValueError, match="max_records"):
        Retention(max_records=0)


async def test_a_refused_delete_changes_nothing() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t")
    await Producer(broker).send("t", payment(0))
    idle = Consumer(broker, "a-idle", "t", lambda e: None, name="m", start="earliest")
    await idle.start()
    await idle.run()
    await idle.stop()
    await broker.join("z-live", ["t"], member="m", start="earliest")
    with pytest.raises(BrokerError, match="still reads"):
        await broker.delete_topic("t")
    assert (await broker.describe()).group("a-idle").committed == {TopicPartition("t", 0): 1}


async def test_lag_counts_what_arrived_after_a_latest_member_joined() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t")
    await Producer(broker).send("t", payment(0))
    await broker.join("g", ["t"], member="m", start="latest")
    for i in range(1, 4):
        await Producer(broker).send("t", payment(i))
    assert (await broker.describe()).group("g").total_lag == 3
    assert [r.offset for r in (await broker.poll("g", "m")).records] == [1, 2, 3]


async def test_read_refuses_negative_bounds() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t")
    with pytest.raises(ValueError, match=">= 0"):
        await broker.read("t", 0, limit=-1)


async def test_misuse_raises_typed_errors_that_say_how_to_fix_it() -> None:
    async with InMemoryBroker() as broker:
        await broker.create_topic("t", partitions=2)
        with pytest.raises(TopicConflict, match=r"exists with 2 partitions, not 3.*Fix"):
            await broker.create_topic("t", partitions=3)
        await broker.join("g", ["t"], member="m", start="earliest")
        with pytest.raises(DuplicateMember, match=r"already a member.*Fix"):
            await broker.join("g", ["t"], member="m", start="earliest")
        with pytest.raises(TopicInUse, match=r"still reads 't'.*Fix"):
            await broker.delete_topic("t")
        with pytest.raises(NotOwner, match=r"does not own other\[0\].*Fix"):
            await broker.seek("g", "m", TopicPartition("other", 0), 0)
        with pytest.raises(UnknownGroup, match=r"no consumer group 'nobody'.*Fix"):
            (await broker.describe()).group("nobody")
        for error in (TopicConflict, DuplicateMember, TopicInUse, NotOwner, UnknownGroup):
            assert issubclass(error, BrokerError)


async def test_as_a_context_manager_a_broker_closes_its_groups() -> None:
    async with InMemoryBroker() as broker:
        await broker.create_topic("t")
        await broker.join("g", ["t"], member="m", start="earliest")
        assert (await broker.describe()).group("g").members == {"m": (TopicPartition("t", 0),)}
    assert (await broker.describe()).groups == ()
