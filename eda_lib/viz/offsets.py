"""Partition logs as offset strips (lessons 07 and 08): one row per partition, one box per record
at its offset, labelled with its key and event type; a marker where each group has committed
(the next offset it will read) and where the next record will go. The gap between the two is
the group's lag."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from eda_lib.brokers.base import Broker, Record, TopicPartition
from eda_lib.codecs import Codec, decode_message
from eda_lib.events import Event, InvalidEvent

_GROUP_COLOURS = ("#c44e52", "#8172b2", "#2a9d8f", "#dd8452")


@dataclass(frozen=True)
class PartitionLog:
    """What a strip shows of one partition."""

    partition: int
    start_offset: int
    end_offset: int
    labels: dict[int, str]
    """Offset -> "key / event type" of each record still in the log."""
    committed: dict[str, int] = field(default_factory=dict)
    """Group -> the offset it will read next."""


def _label(record: Record, codec: Codec | None) -> str:
    try:
        if codec is None or record.value is None:
            event: Event | None = decode_message(record.value, record.headers)
        else:
            event = codec.decode(record.value, record.headers)
    except InvalidEvent:
        event = None
    if record.key is not None:
        key = record.key.decode(errors="replace")
    else:  # name the entity anyway, so a reader sees where its events went
        key = f"{event.subject} (no key)" if event is not None and event.subject else "no key"
    if event is not None:
        return f"{key}\n{event.event_type}"
    return f"{key}\n{'tombstone' if record.value is None else 'not an event'}"


async def partition_logs(
    broker: Broker,
    topic: str,
    groups: Sequence[str] = (),
    *,
    limit: int = 40,
    codec: Codec | None = None,
) -> list[PartitionLog]:
    """Each partition of `topic` as a strip can show it: its records (the first `limit`), named
    by their key and type (read as CloudEvents, or with `codec`), and where each of `groups` has
    committed."""
    state = await broker.describe()
    logs = []
    for partition in state.topic(topic):
        records = await broker.read(
            topic, partition.partition, start=partition.start_offset, limit=limit
        )
        committed = {}
        for group in groups:
            if state.has_group(group):
                tp = TopicPartition(topic, partition.partition)
                committed[group] = state.group(group).committed.get(tp, partition.start_offset)
        logs.append(
            PartitionLog(
                partition.partition,
                partition.start_offset,
                partition.end_offset,
                {r.offset: _label(r, codec) for r in records},
                committed,
            )
        )
    return logs


def draw_offsets(logs: Sequence[PartitionLog], *, topic: str, title: str = "") -> Figure:
    """The strips: records as boxes at their offsets (dark red: a record that is not an event),
    each group's committed offset as a coloured marker (what it reads next), and the end of
    each log."""
    width = max((log.end_offset for log in logs), default=1) + 1.5
    # 1.45 inches per offset: a box holds a two-line label such as "key OrderUpdated" at 8 pt.
    figure = Figure(figsize=(min(16.0, 2.4 + 1.45 * width), 0.8 + 0.85 * len(logs)), dpi=100)
    ax = figure.add_subplot()
    groups = sorted({g for log in logs for g in log.committed})
    colour = {g: _GROUP_COLOURS[i % len(_GROUP_COLOURS)] for i, g in enumerate(groups)}
    for row, log in enumerate(logs):
        y = len(logs) - 1 - row
        # With one group, what it has already committed is shaded: the rest is its lag.
        read_up_to = log.committed.get(groups[0], 0) if len(groups) == 1 else 0
        for offset, label in log.labels.items():  # fills dark enough for white 8 pt text
            ax.add_patch(
                FancyBboxPatch(
                    (offset + 0.06, y - 0.3),
                    0.88,
                    0.6,
                    boxstyle="round,pad=0.01",
                    fc=(
                        "#a33a3a"  # not an event: the record a consumer would dead-letter
                        if label.endswith("not an event")
                        else "#9c8b7c"
                        if offset < read_up_to
                        else "#c8692f"
                    ),
                    ec="none",
                )
            )
            ax.text(
                offset + 0.5,
                y + 0.17,
                str(offset),
                ha="center",
                va="center",
                fontsize=8,
                fontweight="bold",
                color="white",
            )
            ax.text(
                offset + 0.5, y - 0.09, label, ha="center", va="center", fontsize=8, color="white"
            )
        ax.text(
            log.end_offset + 0.1,
            y,
            f"next: {log.end_offset}",
            va="center",
            fontsize=8,
            color="#555555",
        )
        at_offset: dict[int, list[str]] = {}  # groups at one offset share a line and a label
        for group, offset in sorted(log.committed.items()):
            at_offset.setdefault(offset, []).append(group)
        for offset, names in at_offset.items():
            shade = colour[names[0]] if len(names) == 1 else "#555555"
            ax.annotate(
                f"{', '.join(names)}: {offset} (lag {log.end_offset - offset})",
                xy=(offset, y + 0.32),
                xytext=(offset, y + 0.42),
                fontsize=8,
                color=shade,
                ha="left",
                va="bottom",
                arrowprops={"arrowstyle": "-", "color": shade, "lw": 1.5},
            )
            ax.plot([offset, offset], [y - 0.38, y + 0.38], color=shade, lw=2.2)
    ax.set_yticks(range(len(logs)), [f"{topic}[{log.partition}]" for log in reversed(logs)])
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xticks([])
    ax.set_xlim(-0.2, width + 0.8)
    ax.set_ylim(-0.6, len(logs) - 0.2)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    shaded = " (grey: already committed by the group)" if len(groups) == 1 else ""
    ax.set_title(title or f"{topic}: one box per record, at its offset{shaded}", fontsize=10)
    figure.tight_layout()
    return figure
