"""Kafka transactions on a real broker (lesson 12): what a read_committed reader sees, and
consume-transform-produce surviving a crash with each input turned into exactly one output."""

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
