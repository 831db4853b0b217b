"""Pictures of events themselves (lessons 06 and 15): one chain of events as a tree of causes
and effects, and which reader of which schema version could read each message of a topic."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from eda_lib.events import Event
from eda_lib.explorer import Reading

_READ, _REFUSED = "#55a868", "#c44e52"


_FIRST, _CAUSED = "#4c72b0", "#8172b2"
_LEVEL, _COLUMN = 0.68, 2.7  # inches between a cause and its effects, and between neighbours


def draw_story(chain: Sequence[Event], *, title: str = "") -> Figure:
    """A chain of events as a tree, top down: each event under the event that caused it (its
    causation id), effects of one cause side by side in the order they happened; each box says
    the event's type, the start of its id, and the service that published it (its `source`)."""
    causes = {event.id: event.causation_id for event in chain}
    effects: dict[UUID | None, list[Event]] = {}
    for event in chain:
        cause = event.causation_id if event.causation_id in causes else None
        effects.setdefault(cause, []).append(event)
    places: dict[UUID, tuple[float, int]] = {}
    leaves = 0

    def place(event: Event, depth: int) -> float:
        """Leaves one column apart, left to right; a cause centred over its effects."""
        nonlocal leaves
        below = [place(effect, depth + 1) for effect in effects.get(event.id, [])]
        if below:
            column = (below[0] + below[-1]) / 2
        else:
            column, leaves = float(leaves), leaves + 1
        places[event.id] = (column, depth)
        return column

    for root in effects.get(None, []):
        place(root, 0)
    levels = max((depth for _, depth in places.values()), default=0) + 1
    width = max(6.0, _COLUMN * leaves + 1.0)
    height = _LEVEL * (levels - 1) + 1.0  # the boxes' own height, above and below
    band = 0.45  # inches for the title above and the key below
    figure = Figure(figsize=(width, height + 2 * band), dpi=100)
    ax = figure.add_axes((0.0, band / (height + 2 * band), 1.0, height / (height + 2 * band)))
    ax.set_xlim(0, width)  # one data unit is one inch, both ways
    ax.set_ylim(-height + 0.5, 0.5)
    ax.axis("off")
    left = (width - _COLUMN * (leaves - 1)) / 2

    def centre(event_id: UUID) -> tuple[float, float]:
        column, depth = places[event_id]
        return left + column * _COLUMN, -depth * _LEVEL

    for event in chain:
        x, y = centre(event.id)
        if event.causation_id in places:
            cx, cy = centre(event.causation_id)
            ax.annotate(
                "",
                xy=(x, y + 0.2),
                xytext=(cx, cy - 0.2),
                arrowprops={"arrowstyle": "-|>", "color": "#666666", "lw": 1.1},
            )
        first = event.causation_id not in places
        ax.text(
            x,
            y,
            f"{event.event_type} · {str(event.id)[:8]}\nfrom {event.source}",
            ha="center",
            va="center",
            fontsize=8.5,
            color="white",
            bbox={"boxstyle": "round,pad=0.35", "fc": _FIRST if first else _CAUSED, "ec": "none"},
        )
    ax.legend(
        handles=[
            Line2D(
                [],
                [],
                marker="s",
                ls="",
                ms=9,
                color=_FIRST,
                label="the first event (its id is the correlation id)",
            ),
            Line2D(
                [], [], marker="s", ls="", ms=9, color=_CAUSED, label="caused by the event above"
            ),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=2,
        fontsize=8.5,
        frameon=False,
    )
    correlation = chain[0].correlation if chain else None
    ax.set_title(
        title
        or f"one chain: correlation id {str(correlation)[:8]}; arrows run from cause to effect",
        fontsize=10,
    )
    return figure


def _verdict(reading: Reading) -> str:
    if reading.event is None:
        return "refused"
    written, wanted = reading.written_version, reading.reader.schema_version
    if written is None or written == wanted:
        return "read"
    return "read, upcast" if written < wanted else "read, tolerant"


def draw_readings(readings: Sequence[Reading], *, title: str = "") -> Figure:
    """A grid: one column per message (its offset and the version it was written in), one row
    per reader; green where the reader read it (saying how: as written, upcast from an older
    version, or tolerantly from a newer one), red where it refused it."""
    offsets = list(dict.fromkeys(r.offset for r in readings))
    readers = list(dict.fromkeys(r.reader for r in readings))
    versions = {r.offset: r.written_version for r in readings}
    figure = Figure(figsize=(max(5.0, 1.0 * len(offsets) + 2.2), 0.9 + 0.55 * len(readers)))
    ax = figure.add_subplot()
    for reading in readings:
        x, y = offsets.index(reading.offset), readers.index(reading.reader)
        ok = reading.event is not None
        ax.text(
            x,
            y,
            _verdict(reading),
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            bbox={"boxstyle": "round,pad=0.4", "fc": _READ if ok else _REFUSED, "ec": "none"},
        )
    ax.set_xticks(
        range(len(offsets)), [f"offset {o}\nwritten v{versions[o]}" for o in offsets], fontsize=8
    )
    ax.set_yticks(
        range(len(readers)),
        [f"reader of v{r.schema_version} ({r.__name__})" for r in readers],
        fontsize=8,
    )
    ax.set_xlim(-0.6, len(offsets) - 0.4)
    ax.set_ylim(len(readers) - 0.5, -0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "who can read what: green read, red refused", fontsize=9)
    figure.tight_layout()
    return figure
