"""Rebalancing with librdkafka (the course's client) on a real broker: what each member's
rebalance callbacks are told under eager and cooperative assignment, with static membership,
with a commit in `on_revoke`, and when a member stops polling."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from eda_lib.kafka import KafkaBroker
from eda_lib.kafka.rebalance import Callback, handover, join_third, restart_member, stall

pytestmark = pytest.mark.kafka


MADE: list[str] = []


@pytest.fixture(autouse=True)
async def _delete_topics(broker: KafkaBroker) -> AsyncIterator[None]:
    yield  # the broker may be shared: leave no test topics behind
    while MADE:
        await broker.delete_topic(MADE.pop())


async def _topic(broker: KafkaBroker, partitions: int) -> str:
    topic = f"rebalance-{uuid.uuid4().hex[:8]}"
    await broker.create_topic(topic, partitions=partitions)
    MADE.append(topic)
    return topic


async def test_eager_stops_every_partition_cooperative_only_the_moved(broker: KafkaBroker) -> None:
    for strategy in ("range", "cooperative-sticky"):
        topic = await _topic(broker, 6)
        record = await join_third(broker.bootstrap, topic, f"g-{topic}", strategy)
        assert sorted(len(parts) for parts in record.after.values()) == [2, 2, 2]
        for member in ("a", "b"):
            had, kept = set(record.before[member]), set(record.after[member])
            if strategy == "range":
                assert set(record.revoked[member]) == had
            else:
                assert set(record.revoked[member]) == had - kept


async def test_static_membership_a_restart_inside_the_session_timeout_is_no_rebalance(
    broker: KafkaBroker,
) -> None:
    topic = await _topic(broker, 2)
    assert await restart_member(broker.bootstrap, topic, f"g-{topic}", static=True) == []
    topic = await _topic(broker, 2)
    calls = await restart_member(broker.bootstrap, topic, f"g-{topic}", static=False)
    assert [call.kind for call in calls] == ["revoke", "assign", "revoke", "assign"]
    assert calls[1] == Callback("a", "assign", (0, 1))  # b's partition, while b was away


async def test_commit_on_revoke_spares_the_successor_a_redo(broker: KafkaBroker) -> None:
    topic = await _topic(broker, 2)
    assert await handover(broker.bootstrap, topic, f"g-{topic}", commit_on_revoke=True) == []
    topic = await _topic(broker, 2)
    again = await handover(broker.bootstrap, topic, f"g-{topic}", commit_on_revoke=False)
    assert again == [0, 1, 2]


async def test_a_member_that_stops_polling_is_thrown_out(broker: KafkaBroker) -> None:
    topic = await _topic(broker, 2)
    record = await stall(broker.bootstrap, topic, f"g-{topic}")
    assert record.error == "_MAX_POLL_EXCEEDED"
    assert record.owned["b"] == (0, 1)
