"""Retry topics: a failing record is handed on with its due time and reason, each retry
consumer waits until the record is due (on a virtual clock, by moving time on), and the chain
ends in the dead-letter topic."""

from __future__ import annotations

from datetime import timedelta

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.core.broker import Record
from eda_lib.resilience_topics import DEAD_LETTER, TOPICS, Attempt, drain, route
from eda_lib.viz.retry_topics import draw_retries


def test_route_walks_the_chain_then_parks() -> None:
    assert [route(n) for n in range(1, 5)] == [
        "payments.retry.1m",
        "payments.retry.10m",
        DEAD_LETTER,
        DEAD_LETTER,
    ]


async def chain(fails_until_minute: float) -> tuple[InMemoryBroker, list[Attempt]]:
    broker = InMemoryBroker(clock=VirtualClock())
    for topic in TOPICS:
        await broker.create_topic(topic, partitions=1)
    start = broker.clock.now()
    await broker.produce("payments", b"stuck", key=b"order-1", headers=(("trace", b"t1"),))
    await broker.produce("payments", b"fine", key=b"order-2")

    def handle(record: Record) -> None:
        late = broker.clock.now() - start < timedelta(minutes=fails_until_minute)
        if record.value == b"stuck" and late:
            raise TimeoutError("no answer")

    log: list[Attempt] = []
    for topic in TOPICS[:3]:
        await drain(broker, f"g-{topic}", topic, handle, minute=60.0, log=log)
    return broker, log


async def test_the_main_topic_goes_on_and_the_retry_waits_until_due() -> None:
    broker, log = await chain(fails_until_minute=5)
    minutes = [(a.topic, a.value, (a.at - log[0].at).total_seconds() / 60) for a in log]
    assert minutes == [
        ("payments", b"stuck", 0),
        ("payments", b"fine", 0),  # not held up by the failure before it
        ("payments.retry.1m", b"stuck", 1),
        ("payments.retry.10m", b"stuck", 11),
    ]
    assert [bool(a.failed) for a in log] == [True, False, True, False]
    hop = (await broker.read("payments.retry.10m", 0))[0]
    assert hop.key == b"order-1" and hop.header("trace") == b"t1"  # its own headers kept
    assert hop.header("retry-attempts") == b"2" and hop.header("retry-error") == b"no answer"
    assert await broker.read(DEAD_LETTER, 0) == []


async def test_a_record_that_always_fails_ends_in_the_dead_letter_topic() -> None:
    broker, _ = await chain(fails_until_minute=60)
    (parked,) = await broker.read(DEAD_LETTER, 0)
    assert parked.value == b"stuck" and parked.header("retry-attempts") == b"3"
    assert parked.header("retry-due") is None  # nothing is due in the dead-letter topic
    assert len([h for h in parked.headers if h[0] == "retry-attempts"]) == 1


def test_the_picture_has_a_panel_per_way_and_a_row_per_payment() -> None:
    tries = {"pay-0": [(0.0, True)], "pay-1": [(0.0, False), (11.0, True)]}
    figure = draw_retries({"blocking": tries, "topics": tries}, title="t")
    assert [ax.get_title(loc="left") for ax in figure.axes] == ["blocking", "topics"]
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert ticks == ["pay-1", "pay-0"]
    assert "11 min" in [t.get_text() for t in figure.axes[1].texts]
    assert figure.get_figwidth() <= 10
