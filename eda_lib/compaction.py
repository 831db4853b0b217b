"""Log compaction (lesson 07): a topic that keeps the last value of each key, like a table.

On a compacted topic (Kafka's `cleanup.policy=compact`) the broker's *log cleaner* removes every
record that a later record with the same key has replaced. A record with a null value, a
*tombstone*, says "this key is deleted"; the cleaner keeps it for at least `delete.retention.ms`
after it first passed it (so that a reader catching up still learns of the deletion), and removes
it at the first cleaning after that (on Kafka, a cleaning needs new records in closed segments).
Offsets do not change: a compacted log has gaps where the replaced records were.

`cleaned` is the cleaner's rule on one partition, in plain Python; `InMemoryBroker.compact` runs it,
and Kafka runs its own cleaner (`KafkaBroker` sets the topic up so that it does so within
seconds; see `kafka_settings`). `read_table` is the reader that makes a table out of a
compacted topic: the last value per key, a tombstone deleting its key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from eda_lib.core.broker import BrokerError, Record

if TYPE_CHECKING:
    from eda_lib.brokers.base import Broker

READ_BATCH = 500  # records per read while rebuilding a table
MAX_READS = 10_000  # a bound on the reads of one partition (5 million records)


class KeyRequired(BrokerError):
    """A compacted topic refuses a record without a key: there is nothing to compact it by."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            f"'{topic}' is a compacted topic and refuses a record without a key (Kafka answers "
            "INVALID_RECORD). Fix: give every record a key, the id of what it describes"
        )


def cleaned(
    records: Sequence[Record],
    *,
    now: datetime,
    delete_retention: timedelta,
    horizons: dict[int, datetime],
) -> list[Record]:
    """What the log cleaner leaves of one partition's `records` (in offset order): the last
    record of each key, and a tombstone until `delete_retention` after the cleaning that first
    kept it. `horizons` remembers, per tombstone offset, when it may go (Kafka stores this
    "delete horizon" in the record batch; KIP-534)."""
    last = {record.key: record.offset for record in records}
    kept = []
    for record in records:
        if last[record.key] != record.offset:
            continue  # a later record has the same key: this one is replaced
        if record.value is None:
            horizon = horizons.get(record.offset)
            if horizon is None:  # the first cleaning to see this tombstone starts its clock
                horizons[record.offset] = now + delete_retention
            elif now >= horizon:
                continue  # readers have had delete.retention.ms to see the deletion
        kept.append(record)
    return kept


def kafka_settings(delete_retention: timedelta) -> dict[str, str]:
    """The topic configs of a compacted topic whose cleaner runs within seconds, for teaching.

    Kafka cleans only closed *segments*: the one being written (the active segment) is never
    cleaned. A segment closes when it reaches `segment.bytes` (at least 1 MiB on Kafka 4) or
    when a record arrives `segment.ms` after the segment began. `min.cleanable.dirty.ratio` (0.5
    by default) is how much of the log must be uncleaned before the cleaner bothers, and
    `min.compaction.lag.ms` how old a record must be before it may be cleaned. The cleaner itself
    wakes every `log.cleaner.backoff.ms` (a broker setting, 15 s by default; the local broker of
    `eda_lib.kafka_local` sets 1 s)."""
    return {
        "cleanup.policy": "compact",
        "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "0",
        "delete.retention.ms": str(int(delete_retention.total_seconds() * 1000)),
    }


def latest_values(records: Sequence[Record]) -> dict[bytes | None, bytes]:
    """A table from records in offset order: each key's last value; a tombstone deletes."""
    table: dict[bytes | None, bytes] = {}
    for record in records:
        if record.value is None:
            table.pop(record.key, None)
        else:
            table[record.key] = record.value
    return table


async def read_partition(broker: Broker, topic: str, partition: int) -> list[Record]:
    """Every record still in one partition, from the oldest on (offsets may have gaps)."""
    records: list[Record] = []
    for _ in range(MAX_READS):
        start = records[-1].offset + 1 if records else 0
        batch = await broker.read(topic, partition, start=start, limit=READ_BATCH)
        records.extend(batch)
        if len(batch) < READ_BATCH:
            return records
    raise BrokerError(f"{topic}[{partition}] has more than {MAX_READS * READ_BATCH} records")


async def wait_until_compacted(broker: Broker, topic: str, *, timeout: float = 30.0) -> int:
    """Wait until no key appears twice in any partition of `topic`, which is what Kafka's own
    cleaner leaves once it has cleaned every closed segment; then `removed`. Kafka never
    cleans the active segment, the one being written: so, before waiting, let `segment.ms`
    pass and write one more record, of a key not written before, which closes the segment that
    holds the rest (lesson 07 does)."""
    count = (await broker.topics())[topic]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        logs = [await read_partition(broker, topic, p) for p in range(count)]
        if all(len({record.key for record in log}) == len(log) for log in logs):
            return await removed(broker, topic, logs)
        if loop.time() >= deadline:
            raise BrokerError(
                f"'{topic}' still has a key twice after {timeout} s. Fix: create it with "
                "Retention(compact=True), let segment.ms pass, then write a record of a new key "
                "so that its segment closes (the cleaner skips the segment being written)"
            )
        await asyncio.sleep(0.25)


async def removed(
    broker: Broker, topic: str, logs: Sequence[Sequence[Record]] | None = None
) -> int:
    """How many records compaction has removed from `topic` so far: the offsets between each
    partition's start and end that no record holds any more (the gaps in its logs). `logs`:
    every partition's records, if the caller has just read them (else they are read here)."""
    partitions = (await broker.describe([topic])).topic(topic)
    if logs is None:
        logs = [await read_partition(broker, topic, p.partition) for p in partitions]
    return sum(p.end_offset - p.start_offset for p in partitions) - sum(map(len, logs))


async def read_table(broker: Broker, topic: str) -> Mapping[bytes | None, bytes]:
    """The table a compacted topic stands for: every partition read from its start, each key's
    last value, a tombstone deleting its key. The same on a cleaned log and an uncleaned one:
    compaction only removes what a reader would overwrite anyway."""
    table: dict[bytes | None, bytes] = {}
    for partition in range((await broker.topics())[topic]):
        table |= latest_values(await read_partition(broker, topic, partition))
    return table
