"""Kafka transactions (lesson 12): exactly once *inside Kafka*, on a real broker only.

A transactional producer writes records to any partitions and topics, and commits a consumer
group's offsets, all or nothing: `commit_transaction` makes all of it visible at once, and
`abort_transaction` (or a crash) none of it. The aborted records stay in the log, marked; a
consumer reading with `isolation_level="read_committed"` skips them, one with the default
`"read_uncommitted"` does not. Consume-transform-produce with the offsets committed in the same
transaction therefore turns each input record into exactly one visible output record, even when
the process dies in the middle and starts again.

Where it stops: at Kafka's edge. An effect outside Kafka (an email, a row in another database)
is not part of the transaction; for those, lesson 12's idempotent consumer is the tool. The
in-memory broker has no transactions: these functions take a Kafka bootstrap address, and the
cluster's `KafkaSecurity` (else it is read from the environment, as `KafkaBroker` does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from eda_lib.kafka.security import KafkaSecurity


class SimulatedCrash(RuntimeError):
    """The transforming process dies on purpose, in the middle of a transaction."""


def _connection(bootstrap: str, security: KafkaSecurity | None) -> dict[str, Any]:
    chosen = KafkaSecurity.from_env() if security is None else security
    return {"bootstrap_servers": bootstrap, **chosen.client_options()}


async def write_in_transaction(
    bootstrap: str,
    topic: str,
    values: Sequence[bytes],
    *,
    transactional_id: str,
    commit: bool,
    security: KafkaSecurity | None = None,
) -> None:
    """Write `values` to `topic` in one transaction, then commit it or abort it."""
    producer = AIOKafkaProducer(
        **_connection(bootstrap, security), transactional_id=transactional_id
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        for value in values:
            await producer.send(topic, value)
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()
    finally:
        await producer.stop()


async def read_all(
    bootstrap: str,
    topic: str,
    *,
    committed_only: bool,
    expect: int,
    timeout_s: float = 15.0,
    security: KafkaSecurity | None = None,
) -> list[bytes]:
    """Every value in `topic` from the start, as a reader with no group sees it: at least
    `expect` of them, or whatever came within `timeout_s`."""
    consumer = AIOKafkaConsumer(
        topic,
        **_connection(bootstrap, security),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed" if committed_only else "read_uncommitted",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(values) < expect and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                values.extend(record.value for record in records if record.value is not None)
    finally:
        await consumer.stop()
    return values


@dataclass
class TransformReport:
    committed: int
    """Transactions committed in this run (one per polled batch of a partition)."""
    transformed: int
    """Input records turned into output records and committed in this run."""


async def transform_exactly_once(
    bootstrap: str,
    source: str,
    target: str,
    *,
    group: str,
    transactional_id: str,
    transform: Callable[[bytes], bytes],
    expect: int,
    crash_after: int | None = None,
    timeout_s: float = 20.0,
    security: KafkaSecurity | None = None,
) -> TransformReport:
    """Read `source` as `group` (committed records only), write `transform(value)` to `target`
    and commit the group's offsets, one transaction per polled batch of a partition, until
    `expect` records were committed in this run. With `crash_after=n`, the process dies while
    handling its n-th record: that transaction is aborted and `SimulatedCrash` raised; run it
    again (a restart) and it resumes from the offsets the last committed transaction saved."""
    connection = _connection(bootstrap, security)
    consumer = AIOKafkaConsumer(
        source,
        **connection,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,  # offsets are committed inside the transaction instead
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(**connection, transactional_id=transactional_id)
    await consumer.start()
    await producer.start()
    report = TransformReport(0, 0)
    handled = 0
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while report.transformed < expect and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=300, max_records=5)
            for tp, records in batches.items():
                async with producer.transaction():  # aborted if anything below raises
                    for record in records:
                        handled += 1
                        if handled == crash_after:
                            raise SimulatedCrash(
                                f"died while handling offset {record.offset} of {tp.topic}"
                            )
                        await producer.send(target, transform(record.value or b""), key=record.key)
                    next_offset = {TopicPartition(tp.topic, tp.partition): records[-1].offset + 1}
                    await producer.send_offsets_to_transaction(next_offset, group)
                report.committed += 1
                report.transformed += len(records)
    finally:
        await producer.stop()
        await consumer.stop()
    return report
