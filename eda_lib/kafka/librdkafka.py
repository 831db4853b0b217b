"""The course's client, live (lesson 08): librdkafka, through Confluent's Python client.

The course's Go programs use confluent-kafka-go, which is librdkafka underneath (1.9.2, linked in);
`confluent_kafka` is librdkafka for Python (2.x here), with the same configuration keys, and the
same defaults and partitioner for everything shown here. So what it does here is what the
learner's Go program does:

- `placements`: where its default partitioner (CRC32) puts keys, against murmur2;
- `send_as_course`: send course events as the course's producers do (key, header, JSON);
- `new_group_reads`: what a new group with librdkafka's defaults reads of a topic (nothing old);
- `crash_after_poll`: a consumer killed between poll and handling, with auto-commit (the
  course's way: the message is lost) or with a commit after handling (it comes again).
- `course_bootstrap`: the broker's address, or a mock cluster's when there is no broker.

Without a broker, it runs on librdkafka's own mock cluster (`test.mock.num.brokers`), which lives
inside a client: its topics are made on first use, with 4 partitions, and `mock_cluster()` lends
its address to other clients and programs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from eda_lib.course import CourseEvent, encode_course

ANY = -1
"""librdkafka's `RD_KAFKA_PARTITION_UA` (Go: `kafka.PartitionAny`): let the partitioner choose."""
MOCK_PARTITIONS = 4
"""How many partitions librdkafka's mock cluster gives a topic it makes on first use."""


def settings(bootstrap: str | None, **extra: Any) -> dict[str, Any]:
    """A librdkafka configuration for `bootstrap`, or for a mock cluster of one broker when it is
    None (its notice on stderr turned off: `log_level` 4 keeps warnings and errors)."""
    where = {"bootstrap.servers": bootstrap} if bootstrap else {"test.mock.num.brokers": 1}
    return {**where, "log_level": 4, **extra}


async def placements(
    keys: Sequence[str],
    *,
    topic: str = "placements",
    partitioner: str | None = None,
    bootstrap: str | None = None,
) -> dict[str, int]:
    """Where a librdkafka producer puts each key of `keys` (one message each, to `topic`), read
    from its delivery reports. `partitioner=None` is librdkafka's default (`consistent_random`:
    CRC32 of the key); `"murmur2_random"` is the rule of Kafka's Java client and aiokafka. On a
    real broker (`bootstrap`), `topic` must exist; on the mock cluster it has 4 partitions."""
    extra = {} if partitioner is None else {"partitioner": partitioner}
    return await asyncio.to_thread(_produce, keys, topic, settings(bootstrap, **extra))


def _produce(keys: Sequence[str], topic: str, config: dict[str, Any]) -> dict[str, int]:
    producer = Producer(config)
    placed: dict[str, int] = {}
    failed: list[str] = []

    def report(error: KafkaError | None, message: Message) -> None:
        key, partition = message.key(), message.partition()
        if error is not None or key is None or partition is None:
            failed.append(str(error))
        else:
            placed[key.decode()] = partition

    for key in keys:
        producer.produce(topic, b"", key=key.encode(), on_delivery=report)
    left = producer.flush(30)
    if failed or left:
        why = failed[0] if failed else "no error reported"
        raise RuntimeError(
            f"librdkafka did not deliver every message to '{topic}' ({left} left; {why}). "
            "Fix: check the broker, and that the topic exists"
        )
    return placed


@contextmanager
def mock_cluster() -> Iterator[str]:
    """librdkafka's mock cluster, hosted by a client for as long as the block runs; yields its
    address (`127.0.0.1:<port>`), which any client or program can use as `bootstrap.servers`.
    It has no controller, so topics cannot be created: each is made on first use, 4 partitions."""
    host = Producer(settings(None))
    brokers = host.list_topics(timeout=10).brokers.values()
    try:
        yield ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    finally:
        host.flush(5)
        del host  # the cluster goes with its host


_SHARED_MOCK: list[Producer] = []  # the host of `course_bootstrap`'s mock cluster, kept alive


def course_bootstrap(bootstrap: str | None) -> str:
    """Where librdkafka clients connect: `bootstrap` (a real broker), or else a mock cluster
    that lives as long as this Python process (a lesson's kernel), made on first use."""
    if bootstrap:
        return bootstrap
    if not _SHARED_MOCK:
        _SHARED_MOCK.append(Producer(settings(None)))
    brokers = _SHARED_MOCK[0].list_topics(timeout=10).brokers.values()
    return ",".join(f"{broker.host}:{broker.port}" for broker in brokers)


@dataclass(frozen=True)
class Delivered:
    """Where a message went, from its delivery report."""

    key: str | None
    partition: int
    offset: int


async def send_as_course(
    bootstrap: str, topic: str, events: Sequence[CourseEvent], *, partition: int | None = None
) -> list[Delivered]:
    """Send `events` as the course's Go producers do: only `bootstrap.servers` set (so
    librdkafka's defaults, its partitioner among them), the value and `eventType` header of the
    course's wire format, and the event's key (none for chapters 3 and 5). `partition` pins every
    message to one partition instead (`PartitionAny` is the course's choice)."""
    return await asyncio.to_thread(_send, bootstrap, topic, events, partition)


def _send(
    bootstrap: str, topic: str, events: Sequence[CourseEvent], partition: int | None
) -> list[Delivered]:
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 4})
    reports: list[Delivered] = []
    failed: list[str] = []

    def report(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failed.append(str(error))
            return
        key = message.key()
        reports.append(
            Delivered(
                key.decode() if key else None, message.partition() or 0, message.offset() or 0
            )
        )

    for event in events:
        value, headers = encode_course(event)
        key = None if event.key is None else event.key.encode()
        producer.produce(
            topic,
            value,
            key=key,
            headers=list(headers),
            on_delivery=report,
            partition=ANY if partition is None else partition,
        )
        producer.poll(0)  # serve delivery reports as they come, as the course's goroutine does
    left = producer.flush(30)
    if failed or left:
        raise RuntimeError(
            f"librdkafka did not deliver every message to '{topic}' ({left} left; "
            f"{failed[0] if failed else 'no error reported'}). Fix: check the broker and topic"
        )
    return reports


@dataclass(frozen=True)
class GroupRead:
    """What a new consumer group read: before and after one more message was sent."""

    before: list[int]
    """Offsets of partition 0 read until the group reached its end (where it started reading)."""
    after: list[int]
    """Offsets read once one new message was sent (its own among them, if the group is live)."""


async def new_group_reads(
    bootstrap: str, topic: str, group: str, *, extra: dict[str, Any] | None = None
) -> GroupRead:
    """A consumer of a new `group` with librdkafka's settings (plus `extra`, such as
    `{"auto.offset.reset": "earliest"}`) subscribes to `topic` and reads partition 0 until it
    is at the end; then one new message goes to partition 0 and it reads until that one arrives.
    (`enable.partition.eof` is turned on only to learn when the start position is settled: the
    client then says "end of partition", so the new message cannot slip in before the start.)"""
    return await asyncio.to_thread(_new_group_reads, bootstrap, topic, group, extra or {})


def _new_group_reads(bootstrap: str, topic: str, group: str, extra: dict[str, Any]) -> GroupRead:
    settings = {"bootstrap.servers": bootstrap, "group.id": group, "log_level": 4, **extra}
    consumer = Consumer({**settings, "enable.partition.eof": True})
    consumer.subscribe([topic])
    try:
        before: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until partition 0 says it is at its end
            message = consumer.poll(0.1)
            if message is None or message.partition() != 0:
                continue
            error = message.error()
            if error is None:
                before.append(message.offset() or 0)
            elif error.code() == KafkaError._PARTITION_EOF:
                break
        else:
            raise RuntimeError(f"the new group never reached the end of '{topic}' partition 0")
        producer = Producer({"bootstrap.servers": bootstrap, "log_level": 4})
        producer.produce(topic, b"{}", partition=0)
        if producer.flush(10):
            raise RuntimeError(f"could not send the new message to '{topic}'")
        after = _read_for(consumer, 10.0, until=lambda offsets: bool(offsets))
        return GroupRead(before, after)
    finally:
        consumer.close()


def _read_for(consumer: Consumer, seconds: float, until: Any = None) -> list[int]:
    """Offsets polled within `seconds`, stopping early once `until(offsets)` holds."""
    offsets: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until(offsets)):
        message = consumer.poll(0.1)
        if message is not None and message.error() is None:
            offsets.append(message.offset() or 0)
    return offsets


@dataclass(frozen=True)
class CrashReport:
    """A consumer killed after librdkafka handed it a message and before it handled it."""

    commit: str
    polled: int
    """The offset of the message it was handed (and never handled)."""
    committed: int | None
    """The group's committed offset just before the kill: where the group resumes."""
    resumed: list[int]
    """The offsets the group reads when it resumes from there."""

    @property
    def lost(self) -> bool:
        """Whether the unhandled message is gone for the group: it resumes past it."""
        return self.polled not in self.resumed


async def crash_after_poll(
    bootstrap: str, topic: str, group: str, commit: Literal["auto", "manual"]
) -> CrashReport:
    """Run `eda_lib.kafka.course_consumer` (in its own process) on partition 0 of `topic`, kill it
    with SIGKILL once it has reported the committed offset, and read partition 0 from where the
    group resumes. `group` must be new and partition 0 must hold messages."""
    return await asyncio.to_thread(_crash_after_poll, bootstrap, topic, group, commit)


def _crash_after_poll(bootstrap: str, topic: str, group: str, commit: str) -> CrashReport:
    program = [
        sys.executable,
        "-m",
        "eda_lib.kafka.course_consumer",
        bootstrap,
        topic,
        group,
        commit,
    ]
    running = subprocess.Popen(program, stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout is not None
        said: dict[str, Any] = {}
        for line in running.stdout:  # two lines; the program gives up within 40 s
            said.update(json.loads(line))
            if "committed" in said:
                break
    finally:
        running.kill()  # SIGKILL: no close(), no last commit
        running.wait(timeout=10)
    if "committed" not in said:
        raise RuntimeError(
            f"the course consumer stopped before reporting (exit {running.returncode})"
        )
    # Nothing committed: the group starts where auto.offset.reset says, earliest for this program
    # (with librdkafka's default, latest, it would skip all three messages instead).
    resume_at = said["committed"] if said["committed"] is not None else 0
    return CrashReport(
        commit, said["polled"], said["committed"], _read_from(bootstrap, topic, resume_at)
    )


def _read_from(bootstrap: str, topic: str, offset: int) -> list[int]:
    """Partition 0's offsets from `offset` to its end: what a restarted member of the group would
    read, read here without joining it (a rejoin waits for the killed member's session to end)."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "course-reader",  # assign() needs none, but librdkafka asks for one
            "enable.auto.commit": False,  # commits nothing, leaves no offsets behind
            "log_level": 4,
        }
    )
    try:
        end = reader.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        reader.assign([TopicPartition(topic, 0, offset)])
        return _read_for(
            reader, 10.0, until=lambda offsets: bool(offsets) and offsets[-1] >= end - 1
        )
    finally:
        reader.close()
