"""Retries with backoff, idempotent consumers, and what a crash does to each commit order
(lesson 12)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from eda_lib import (
    Consumer,
    ConsumerCrash,
    Event,
    InMemoryBroker,
    PaymentSuccessful,
    Producer,
    VirtualClock,
)
from eda_lib.faults import ConsumerFaults, CrashOnce
from eda_lib.resilience import (
    InMemoryProcessedEvents,
    RetryPolicy,
    SqliteProcessedEvents,
    wait,
)
from tests.contract.broker import payment


def test_backoff_grows_exponentially_within_the_jitter_and_the_cap() -> None:
    policy = RetryPolicy(
        max_attempts=6, base_delay=1.0, multiplier=2.0, max_delay=10.0, jitter=0.1, seed=3
    )
    waits = policy.schedule()
    assert len(waits) == 5
    for got, raw in zip(waits, [1, 2, 4, 8, 10], strict=True):
        assert raw * 0.9 <= got <= raw * 1.1
    assert waits == policy.schedule()  # the same seed, the same waits
    assert waits != RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=10.0, seed=4).schedule()
    assert RetryPolicy(jitter=0, base_delay=0.5).delay(3, random.Random()) == 2.0


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"max_attempts": 0}, "at least 1"),
        ({"jitter": 1.5}, "fraction"),
        ({"multiplier": 0.5}, "multiplier"),
    ],
)
def test_nonsense_policies_are_refused(options: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RetryPolicy(**options)  # type: ignore[arg-type]


async def test_waiting_on_a_virtual_clock_moves_it_instead_of_sleeping() -> None:
    clock = VirtualClock()
    before = clock.now()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait(clock, 3600)
    assert (clock.now() - before).total_seconds() == 3600
    assert loop.time() - started < 1


async def _one_topic() -> InMemoryBroker:
    broker = InMemoryBroker(clock=VirtualClock())
    await broker.create_topic("payments", partitions=1)
    return broker


async def test_a_flaky_handler_succeeds_after_retries() -> None:
    broker = await _one_topic()
    await Producer(broker).send("payments", payment(1))
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("the mail server timed out")

    policy = RetryPolicy(max_attempts=4, base_delay=2.0, jitter=0.0)
    consumer = Consumer(
        broker, "receipts", "payments", flaky, name="m", retry=policy, start="earliest"
    )
    start = broker.clock.now()
    await consumer.start()
    report = await consumer.run()
    assert (len(calls), report.handled, report.dead_lettered, consumer.retries) == (3, 1, 0, 2)
    assert [h.detail for h in broker.trace.select("retried")] == [
        "attempt 1 failed (ConnectionError: the mail server timed out); next in 2.00 s",
        "attempt 2 failed (ConnectionError: the mail server timed out); next in 4.00 s",
    ]
    assert (broker.clock.now() - start).total_seconds() == 6.0  # backoff in virtual time


async def test_a_handler_that_always_fails_is_dead_lettered_with_its_attempts() -> None:
    broker = await _one_topic()
    await Producer(broker).send("payments", payment(1))

    def broken(event: Event) -> None:
        raise ValueError("no such customer")

    consumer = Consumer(
        broker,
        "receipts",
        "payments",
        broken,
        name="m",
        retry=RetryPolicy(max_attempts=3, base_delay=0.1),
        start="earliest",
    )
    await consumer.start()
    report = await consumer.run()
    assert (report.handled, report.dead_lettered, consumer.retries) == (0, 1, 2)
    [dead] = await broker.read("payments.dead-letter", 0)
    assert dead.header("dlt-attempts") == b"3"
    assert dead.header("dlt-error") == b"ValueError: no such customer"


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_an_idempotent_consumer_applies_a_redelivered_event_once(
    store: str, tmp_path: Path
) -> None:
    broker = await _one_topic()
    event = payment(1)
    producer = Producer(broker)
    await producer.send("payments", event)
    await producer.send("payments", event)  # the same event again: a producer retry, say
    processed = (
        InMemoryProcessedEvents()
        if store == "memory"
        else SqliteProcessedEvents(tmp_path / "processed.db")
    )
    shipped: list[str] = []
    consumer = Consumer(
        broker,
        "shipping",
        "payments",
        lambda e: shipped.append(e.order_id),
        name="m",
        idempotency=processed,
        start="earliest",
    )
    await consumer.start()
    report = await consumer.run()
    assert shipped == ["order-1"] and consumer.duplicates == 1 and report.processed == 2
    assert [h.offset for h in broker.trace.select("duplicate")] == [1]
    assert len(processed) == 1


async def test_processed_ids_in_sqlite_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "processed.db"
    first = SqliteProcessedEvents(path)
    event = payment(1)
    first.add("shipping", event.id)
    first.close()
    again = SqliteProcessedEvents(path)
    assert again.seen("shipping", event.id)
    assert not again.seen("analytics", event.id)


@pytest.mark.parametrize("commit", ["each", "batch"])
async def test_a_crash_right_after_committing_repeats_nothing(commit: str) -> None:
    broker = await _one_topic()
    for i in range(3):
        await Producer(broker).send("payments", payment(i))
    effects: list[str] = []
    faults = ConsumerFaults(crash_after_commit=CrashOnce(frozenset({"pay-1"})))
    consumer = Consumer(
        broker,
        "shipping",
        "payments",
        lambda e: effects.append(e.payment_id),
        name="m",
        faults=faults,
        commit=commit,
        start="earliest",
    )  # type: ignore[arg-type]
    await consumer.start()
    assert (await consumer.run()).stopped_because == "crashed"
    await consumer.start()
    await consumer.run()
    assert effects == ["pay-0", "pay-1", "pay-2"]


async def test_at_most_once_loses_what_a_crash_interrupts() -> None:
    broker = await _one_topic()
    for i in range(2):
        await Producer(broker).send("payments", payment(i))
    effects: list[str] = []

    async def crash_before_the_effect(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        if event.payment_id == "pay-0" and not effects:
            effects.append("crashed")
            raise ConsumerCrash("died before applying pay-0")
        effects.append(event.payment_id)

    consumer = Consumer(
        broker,
        "shipping",
        "payments",
        crash_before_the_effect,
        name="m",
        commit="before",
        start="earliest",
    )
    await consumer.start()
    await consumer.run()
    await consumer.start()
    await consumer.run()
    assert effects == ["crashed", "pay-1"]  # pay-0 is lost: committed on arrival, never applied
    [crash] = broker.trace.select("crashed")
    assert (crash.offset, crash.detail) == (0, "died before applying pay-0")
    assert not [h for h in broker.trace.select("handled") if h.offset == 0]
    assert broker.trace.select("committed")[0].offset == 1  # the commit that gave pay-0 up


async def test_a_slow_consumer_takes_simulated_time_per_event() -> None:
    broker = await _one_topic()
    for i in range(4):
        await Producer(broker).send("payments", payment(i))
    consumer = Consumer(
        broker,
        "g",
        "payments",
        lambda e: None,
        name="m",
        faults=ConsumerFaults(slow=2.5),
        start="earliest",
    )
    start = broker.clock.now()
    await consumer.start()
    await consumer.run()
    assert (broker.clock.now() - start).total_seconds() == 10.0
    with pytest.raises(ValueError, match="seconds per event"):
        ConsumerFaults(slow=-1)


async def test_clients_sharing_a_policy_do_not_retry_in_lockstep() -> None:
    broker = await _one_topic()
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.5)
    waits = {name: Producer(broker, name, retry=policy)._rng.random() for name in "abc"}
    assert len(set(waits.values())) == 3
