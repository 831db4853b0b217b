"""Non-blocking retries through retry topics (lesson 12, section 2).

A record whose handler fails is not retried in place, which would hold up its partition: it is
handed on to the next retry topic with a due time in its headers, and the main consumer goes on.
A consumer of each retry topic waits until a record is due, tries again, and hands it on once
more if it fails: `payments.retry.1m`, then `payments.retry.10m`, then the dead-letter topic.
Spring Kafka's `@RetryableTopic` builds the same chain of topics.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from eda_lib.brokers.base import Broker
from eda_lib.core.broker import Headers, Record, TopicPartition
from eda_lib.resilience import wait

# Each retry topic and how long a record waits in it, in minutes (`drain`'s `minute` says how
# many seconds a minute lasts, so that a test or a demo on a real clock can shorten them).
RETRY_TOPICS: tuple[tuple[str, float], ...] = (("payments.retry.1m", 1), ("payments.retry.10m", 10))
DEAD_LETTER = "payments.dead-letter"
TOPICS = ("payments", *(topic for topic, _ in RETRY_TOPICS), DEAD_LETTER)


def route(attempts: int) -> str:
    """Where a record goes after its `attempts`-th failed attempt (1 = the main topic's): the
    next retry topic, or the dead-letter topic once every retry topic has had its turn."""
    if attempts <= len(RETRY_TOPICS):
        return RETRY_TOPICS[attempts - 1][0]
    return DEAD_LETTER


def retry_headers(record: Record, error: Exception, attempts: int, due: datetime | None) -> Headers:
    """The record's own headers, with this hop's (replacing the last hop's): how many attempts
    failed, the last error, and when the next attempt is due (none for the dead-letter topic)."""
    kept = tuple((k, v) for k, v in record.headers if not k.startswith("retry-"))
    hop = [("retry-attempts", str(attempts).encode()), ("retry-error", str(error).encode())]
    if due is not None:
        hop.append(("retry-due", due.isoformat().encode()))
    return kept + tuple(hop)


class Attempt(NamedTuple):
    """One try at a record: when, from which topic, and what came of it."""

    at: datetime
    topic: str
    key: str
    value: bytes | None
    failed: str  # the error, or "" if the handler succeeded


async def drain(
    broker: Broker,
    group: str,
    topic: str,
    handle: Callable[[Record], object],
    *,
    minute: float,
    log: list[Attempt],
    max_polls: int = 200,
) -> None:
    """Read `topic` to its end as `group`. Before each record, wait until it is due (a sleep,
    or on a virtual clock a jump: never a busy loop). A record whose handler raises is handed
    on, as `route` says, due `minute` seconds times its next topic's minutes from now."""
    member = f"{group}-1"
    await broker.join(group, [topic], member=member, start="earliest")
    try:
        for _ in range(max_polls):  # bounded: the topic's end usually comes far sooner
            batch = await broker.poll(group, member, max_records=100, timeout=0.5)
            if not batch.records and batch.caught_up:
                return
            for record in batch.records:
                due = record.header("retry-due")
                if due is not None:
                    late = datetime.fromisoformat(due.decode()) - broker.clock.now()
                    await wait(broker.clock, max(0.0, late.total_seconds()))
                attempts = int(record.header("retry-attempts") or b"0") + 1
                key = (record.key or b"").decode()
                try:
                    handle(record)
                    log.append(Attempt(broker.clock.now(), topic, key, record.value, ""))
                except Exception as error:  # any failure is retried later, or parked
                    log.append(Attempt(broker.clock.now(), topic, key, record.value, str(error)))
                    await hand_on(broker, record, error, attempts, minute=minute)
                done = {TopicPartition(topic, record.partition): record.offset + 1}
                await broker.commit(group, member, done, generation=batch.generation)
    finally:
        await broker.leave(group, member)


async def hand_on(
    broker: Broker, record: Record, error: Exception, attempts: int, *, minute: float
) -> str:
    """Send a failed record to its next topic, with its key (so that it stays with its kind
    in that topic's partitions) and why; returns the topic."""
    target = route(attempts)
    delay = dict(RETRY_TOPICS).get(target)
    due = None if delay is None else broker.clock.now() + timedelta(seconds=delay * minute)
    headers = retry_headers(record, error, attempts, due)
    await broker.produce(target, record.value, key=record.key, headers=headers)
    return target
