"""A topic explorer for any broker (lesson 08): topics, partitions and offsets, the messages in
them (decoded, as rows or as events), consumer groups with their lag, and on Kafka each partition's
leader, replicas and in-sync replicas. It is what the course's
learners get from Kafdrop, as plain text a notebook can print and a test can compare. Also: one
chain of events across topics, causes first (lesson 06), and what readers of each schema version
make of a topic's messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eda_lib.brokers.base import Broker, BrokerState
from eda_lib.codecs import Codec, decode_message, tombstone, written_version
from eda_lib.core.broker import Headers
from eda_lib.events import Event, InvalidEvent
from eda_lib.kafka import KafkaBroker, replicas, replicas_table


@dataclass(frozen=True)
class MessageRow:
    partition: int
    offset: int
    key: str
    event_type: str
    summary: str  # the event's data, or why it could not be read


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def topics_table(state: BrokerState) -> str:
    """One line per partition: its offsets and how many messages it holds."""
    rows = [("topic", "partition", "first offset", "next offset", "messages")]
    for p in sorted(state.partitions, key=lambda p: (p.topic, p.partition)):
        rows.append(
            (p.topic, str(p.partition), str(p.start_offset), str(p.end_offset), str(p.size))
        )
    return _table(rows)


def groups_table(state: BrokerState) -> str:
    """One line per group and partition: who owns it, the committed offset and the lag."""
    rows = [("group", "partition", "member", "committed", "lag")]
    for group in sorted(state.groups, key=lambda g: g.group):
        owner = {tp: member for member, tps in group.members.items() for tp in tps}
        for tp in sorted(group.lag):
            committed = group.committed.get(tp)
            rows.append(
                (
                    group.group,
                    str(tp),
                    owner.get(tp, "(none)"),
                    "-" if committed is None else str(committed),
                    str(group.lag[tp]),
                )
            )
    return _table(rows)


def _read(value: bytes | None, headers: Headers, codec: Codec | None) -> Event:
    """The event in a message: CloudEvents in either mode, or what `codec` reads (the Go course's
    wire format, say: `eda_lib.course.CourseJson`). A tombstone raises `InvalidEvent`."""
    if value is None:
        raise tombstone()
    return decode_message(value, headers) if codec is None else codec.decode(value, headers)


async def events(
    broker: Broker,
    topic: str,
    *,
    limit: int = 1000,
    skip_unreadable: bool = False,
    codec: Codec | None = None,
) -> list[Event]:
    """The events of `topic`, partition by partition in offset order (up to `limit` per
    partition), read as CloudEvents or with `codec`. A record that is not an event raises
    `InvalidEvent`, or with `skip_unreadable` is left out (its consumers dead-lettered it): use
    `messages` to list those with the reason instead."""
    found = await events_by_partition(
        broker, topic, limit=limit, skip_unreadable=skip_unreadable, codec=codec
    )
    return [event for partition in sorted(found) for event in found[partition]]


async def events_by_partition(
    broker: Broker,
    topic: str,
    *,
    limit: int = 1000,
    skip_unreadable: bool = False,
    codec: Codec | None = None,
) -> dict[int, list[Event]]:
    """`events`, kept apart per partition: partition number -> its events in offset order."""
    count = (await broker.topics()).get(topic)
    if count is None:
        raise ValueError(f"no topic '{topic}' (topics: {', '.join(await broker.topics())})")
    found: dict[int, list[Event]] = {}
    for number in range(count):
        found[number] = []
        for record in await broker.read(topic, number, limit=limit):
            try:
                found[number].append(_read(record.value, record.headers, codec))
            except InvalidEvent:
                if not skip_unreadable:
                    raise
    return found


async def messages(
    broker: Broker,
    topic: str,
    *,
    partition: int | None = None,
    start: int = 0,
    limit: int = 10,
    codec: Codec | None = None,
) -> list[MessageRow]:
    """Up to `limit` messages per partition from offset `start`, read as CloudEvents or with
    `codec`; a message that cannot be read is listed with the reason."""
    count = (await broker.topics()).get(topic)
    if count is None:
        raise ValueError(f"no topic '{topic}' (topics: {', '.join(await broker.topics())})")
    rows = []
    for number in range(count) if partition is None else [partition]:
        for record in await broker.read(topic, number, start=start, limit=limit):
            key = record.key.decode("utf-8", "replace") if record.key is not None else "-"
            try:
                event = _read(record.value, record.headers, codec)
            except InvalidEvent as error:
                rows.append(
                    MessageRow(number, record.offset, key, "?", f"unreadable ({error.problem})")
                )
                continue
            except Exception as error:  # show the message anyway, with what went wrong
                rows.append(
                    MessageRow(
                        number, record.offset, key, "?", f"unreadable ({type(error).__name__})"
                    )
                )
                continue
            data = ", ".join(f"{k}={v}" for k, v in event.data().items())
            rows.append(MessageRow(number, record.offset, key, event.event_type, data))
    return rows


def messages_table(rows: list[MessageRow], width: int = 70) -> str:
    table = [("partition", "offset", "key", "type", "data")]
    for row in rows:
        summary = row.summary if len(row.summary) <= width else row.summary[: width - 1] + "…"
        table.append((str(row.partition), str(row.offset), row.key, row.event_type, summary))
    return _table(table)


async def explore(
    broker: Broker, topic: str | None = None, *, limit: int = 5, codec: Codec | None = None
) -> str:
    """Everything at once: topics and offsets, groups and lag, and (for `topic`) its messages,
    read as CloudEvents or with `codec`."""
    state = await broker.describe()
    parts = ["TOPICS", topics_table(state)]
    if broker.name == "kafka":  # copies on nodes: the in-memory broker keeps one, in memory
        assert isinstance(broker, KafkaBroker)
        topics = sorted({p.topic for p in state.partitions})
        if topics:
            parts += ["", "REPLICAS", replicas_table(await replicas(broker, topics))]
    if state.groups:
        parts += ["", "CONSUMER GROUPS", groups_table(state)]
    if topic is not None:
        parts += [
            "",
            f"MESSAGES IN {topic} (first {limit} per partition)",
            messages_table(await messages(broker, topic, limit=limit, codec=codec)),
        ]
    return "\n".join(parts)


async def story(broker: Broker, topics: Sequence[str], correlation: UUID) -> list[Event]:
    """Every event in `topics` that belongs to the chain `correlation` started (the event with
    that id, and every event carrying it as its correlation id), each cause before its effects."""
    chain: dict[UUID, Event] = {}
    for topic in topics:
        for event in await events(broker, topic, skip_unreadable=True):
            if event.correlation == correlation:
                chain[event.id] = event
    placed: list[Event] = []
    done: set[UUID] = set()

    def place(event: Event) -> None:
        cause = chain.get(event.causation_id) if event.causation_id else None
        if cause is not None and cause.id not in done:
            place(cause)
        if event.id not in done:
            done.add(event.id)
            placed.append(event)

    for event in sorted(chain.values(), key=lambda e: e.time):
        place(event)
    return placed


def story_table(chain: Sequence[Event]) -> str:
    """A chain of events as an indented tree: each event under the one that caused it."""
    depth: dict[UUID, int] = {}
    lines = []
    for event in chain:
        level = depth.get(event.causation_id, -1) + 1 if event.causation_id else 0
        depth[event.id] = level
        lines.append(
            f"{'    ' * level}{event.event_type} from {event.source} (id {str(event.id)[:8]})"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Reading:
    """What one reader made of one message: the event it read, or why it refused it."""

    offset: int
    written_version: int | None
    reader: type[Event]
    event: Event | None
    why: str = ""


async def readings(
    broker: Broker, topic: str, readers: Sequence[type[Event]], *, partition: int = 0
) -> list[Reading]:
    """Each message of one partition as read by each reader class: what a consumer whose
    handler is annotated with that class gets (the same decoder, the same rules)."""
    found = []
    for record in await broker.read(topic, partition, limit=1000):
        version = written_version(record.value, record.headers)
        for reader in readers:
            try:
                event = decode_message(
                    record.value, record.headers, read_as={reader.event_type: reader}
                )
                found.append(Reading(record.offset, version, reader, event))
            except InvalidEvent as error:
                found.append(Reading(record.offset, version, reader, None, error.detail))
    return found
