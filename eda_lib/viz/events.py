"""Pictures of events themselves (lesson 06): one chain of events as a tree of causes and
effects, and which reader of which schema version could read each message of a topic."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from matplotlib.figure import Figure

from eda_lib.events import Event
from eda_lib.explorer import Reading

_READ, _REFUSED = "#55a868", "#c44e52"


def draw_story(chain: Sequence[Event], *, title: str = "") -> Figure:
    """Each event of a chain as a box under the event that caused it, left to right in the
    order they happened, with the service that published it (its `source`)."""
    depth: dict[UUID, int] = {}
    places: dict[UUID, tuple[float, float]] = {}
    for column, event in enumerate(chain):
        cause = event.causation_id
        depth[event.id] = depth[cause] + 1 if cause in depth else 0
        places[event.id] = (column, -depth[event.id])
    levels = max(depth.values(), default=0) + 1
    figure = Figure(figsize=(max(5.0, 2.3 * len(chain)), 1.1 + 1.1 * levels), dpi=100)
    ax = figure.add_subplot()
    for event in chain:
        x, y = places[event.id]
        cause = event.causation_id
        if cause in places:
            cx, cy = places[cause]
            ax.annotate(
                "",
                xy=(x, y + 0.22),
                xytext=(cx, cy - 0.22),
                arrowprops={"arrowstyle": "-|>", "color": "#666666", "lw": 1.2},
            )
        label = f"{event.event_type}\n{event.source}\nid {str(event.id)[:8]}"
        colour = "#4c72b0" if event.causation_id is None else "#8172b2"
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            bbox={"boxstyle": "round,pad=0.45", "fc": colour, "ec": "none"},
        )
    ax.set_xlim(-0.7, len(chain) - 0.3)
    ax.set_ylim(-levels + 0.45, 0.55)
    ax.axis("off")
    first = chain[0].correlation if chain else None
    ax.set_title(
        title or f"one chain: correlation id {str(first)[:8]}; arrows run from cause to effect",
        fontsize=9,
    )
    figure.tight_layout()
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
