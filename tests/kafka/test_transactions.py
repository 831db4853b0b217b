"""Kafka transactions on a real broker (lesson 12): what a read_committed reader sees,
consume-transform-produce surviving a crash with each input turned into exactly one output, and
a frozen transactional producer holding readers back until a new one fences it."""

from __future__ import annotations

import uuid

import pytest

from eda_lib.kafka import (
    KafkaBroker,
    SimulatedCrash,
    read_all,
    transform_exactly_once,
    write_in_transaction,
)
from eda_lib.kafka.zombie import fence, partition_ends, zombie_writer

pytestmark = pytest.mark.kafka


async def test_a_committed_reader_never_sees_an_aborted_write(kafka_bootstrap: str) -> None:
    topic = f"tx-{uuid.uuid4().hex[:8]}"
    broker = await KafkaBroker.connect(kafka_bootstrap)
    try:
        await broker.create_topic(topic, partitions=1)
        tid = f"writer-{topic}"
        await write_in_transaction(
            kafka_bootstrap, topic, [b"a", b"b", b"c"], transactional_id=tid, commit=True
        )
        await write_in_transaction(
            kafka_bootstrap, topic, [b"x", b"y"], transactional_id=tid, commit=False
        )
        await write_in_transaction(
            kafka_bootstrap, topic, [b"d"], transactional_id=tid, commit=True
        )
        committed = await read_all(kafka_bootstrap, topic, committed_only=True, expect=4)
        everything = await read_all(kafka_bootstrap, topic, committed_only=False, expect=6)
    finally:
        await broker.delete_topic(topic)
        await broker.close()
    assert committed == [b"a", b"b", b"c", b"d"]
    assert everything == [b"a", b"b", b"c", b"x", b"y", b"d"]  # aborted records stay in the log


async def test_consume_transform_produce_survives_a_crash_exactly_once(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    source, target = f"tx-in-{run}", f"tx-out-{run}"
    broker = await KafkaBroker.connect(kafka_bootstrap)
    try:
        for topic in (source, target):
            await broker.create_topic(topic, partitions=1)
        inputs = [f"pay-{n}".encode() for n in range(12)]
        await write_in_transaction(
            kafka_bootstrap, source, inputs, transactional_id=f"in-{run}", commit=True
        )
        options = {
            "group": f"receipts-{run}",
            "transactional_id": f"receipts-{run}",
            "transform": lambda value: b"receipt for " + value,
        }
        with pytest.raises(SimulatedCrash):
            await transform_exactly_once(
                kafka_bootstrap, source, target, expect=12, crash_after=8, **options
            )
        again = await transform_exactly_once(kafka_bootstrap, source, target, expect=12, **options)
        visible = await read_all(kafka_bootstrap, target, committed_only=True, expect=12)
        written = await read_all(
            kafka_bootstrap, target, committed_only=False, expect=14, timeout_s=5
        )
    finally:
        for topic in (source, target):
            await broker.delete_topic(topic)
        await broker.close()
    assert sorted(visible) == sorted(b"receipt for " + value for value in inputs)  # once each
    assert again.transformed < 12  # the restart resumed from the last committed transaction
    assert len(written) > len(visible)  # the aborted batch's records are in the log, unseen


async def test_a_frozen_producer_holds_readers_back_until_it_is_fenced(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    topic, zombie_id, shop = f"tx-zombie-{run}", f"receipts-{run}", f"shop-{run}"
    broker = await KafkaBroker.connect(kafka_bootstrap)
    try:
        await broker.create_topic(topic, partitions=1)
        await write_in_transaction(
            kafka_bootstrap, topic, [b"before"], transactional_id=shop, commit=True
        )
        async with zombie_writer(
            kafka_bootstrap, topic, [b"z1", b"z2"], transactional_id=zombie_id
        ) as zombie:
            zombie.freeze()
            await write_in_transaction(
                kafka_bootstrap, topic, [b"later"], transactional_id=shop, commit=True
            )
            stuck = await read_all(
                kafka_bootstrap, topic, committed_only=True, expect=2, timeout_s=3
            )
            uncommitted = await read_all(kafka_bootstrap, topic, committed_only=False, expect=4)
            stable, high = await partition_ends(kafka_bootstrap, topic)
            await fence(kafka_bootstrap, zombie_id)
            passed = await read_all(kafka_bootstrap, topic, committed_only=True, expect=2)
            zombie.wake()
            refusal = await zombie.finish(b"z3")
        visible = await read_all(kafka_bootstrap, topic, committed_only=True, expect=3, timeout_s=3)
        logged = await read_all(kafka_bootstrap, topic, committed_only=False, expect=5, timeout_s=3)
    finally:
        await broker.delete_topic(topic)
        await broker.close()
    assert stuck == [b"before"]  # "later" is committed, but behind the open transaction
    assert uncommitted == [b"before", b"z1", b"z2", b"later"]
    assert stable < high  # the last stable offset stops at the open transaction
    assert passed == [b"before", b"later"]  # fenced: the zombie's transaction was aborted
    assert refusal is not None and refusal.code == "_FENCED" and refusal.fatal
    assert visible == [b"before", b"later"]  # nothing of the zombie's, before or after waking
    assert b"z3" not in logged  # its late write never reached the log


async def test_a_writer_that_is_not_fenced_commits(kafka_bootstrap: str) -> None:
    """The oracle for the test above: the same writer, neither frozen nor fenced, commits."""
    topic = f"tx-alive-{uuid.uuid4().hex[:8]}"
    broker = await KafkaBroker.connect(kafka_bootstrap)
    try:
        await broker.create_topic(topic, partitions=1)
        async with zombie_writer(
            kafka_bootstrap, topic, [b"a", b"b"], transactional_id=f"writer-{topic}"
        ) as writer:
            outcome = await writer.finish(b"c")
        visible = await read_all(kafka_bootstrap, topic, committed_only=True, expect=3)
    finally:
        await broker.delete_topic(topic)
        await broker.close()
    assert outcome is None
    assert visible == [b"a", b"b", b"c"]
