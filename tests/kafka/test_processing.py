"""The windowed count on a real Kafka broker (lesson 14): the counts of the in-memory one."""

from __future__ import annotations

import uuid

import pytest

from eda_lib import Producer, open_broker
from eda_lib.explorer import events
from eda_lib.processing import WindowCounted
from tests.unit.processing.readings import at, by_hand, counted, processor, reading


@pytest.mark.kafka
async def test_the_same_count_on_kafka(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)  # the session's broker, not a new one
    readings = [reading(f"s{n % 3}", seconds) for n, seconds in enumerate(range(0, 60, 2))]
    topics = [f"readings-{uuid.uuid4().hex[:6]}", f"counts-{uuid.uuid4().hex[:6]}"]
    async with await open_broker("kafka", fresh=topics) as broker:
        for topic in topics:
            await broker.create_topic(topic)
        await Producer(broker).send_all(topics[0], readings)
        async with await processor(
            broker, source=topics[0], sink=topics[1], group=f"g-{topics[0]}"
        ) as c:
            await c.run(timeout=20)
        published = [e for e in await events(broker, topics[1]) if isinstance(e, WindowCounted)]
    assert counted(published) == by_hand(readings, at(58))
