"""A compacted partition before and after the log cleaner ran (lesson 07, section 5): one box per
record at its offset. Above, every record written, those the cleaner removed faded and crossed
out; below, what is left, at the same offsets, with gaps where the removed records were. A
tombstone (a null value) is dark."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from eda_lib.core.broker import Record

_VALUE = "#4c72b0"
_TOMBSTONE = "#333333"


def _box(ax: Axes, record: Record, y: float, *, faded: bool = False) -> None:
    tombstone = record.value is None
    colour = _TOMBSTONE if tombstone else _VALUE
    alpha = 0.3 if faded else 1.0
    x = record.offset
    ax.add_patch(Rectangle((x + 0.05, y), 0.9, 0.8, color=colour, alpha=alpha, linewidth=0))
    key = (record.key or b"").decode(errors="replace")
    value = "tombstone" if record.value is None else record.value.decode(errors="replace")
    ink = "#333333" if faded else "white"  # dark text on a faded box, to stay readable
    ax.text(x + 0.5, y + 0.55, key, ha="center", va="center", fontsize=8, color=ink)
    ax.text(x + 0.5, y + 0.25, value, ha="center", va="center", fontsize=8, color=ink)
    if faded:
        ax.plot([x + 0.1, x + 0.9], [y + 0.05, y + 0.75], color="#c44e52", linewidth=1.5)


def draw_compaction(
    written: Sequence[Record], kept: Sequence[Record], *, topic: str, title: str = ""
) -> Figure:
    """`written`: one partition's records before cleaning; `kept`: what the cleaner left (a
    kept record that `written` lacks, written after it was read, is drawn in both rows)."""
    by_offset = {r.offset: r for r in written} | {r.offset: r for r in kept}
    written = [by_offset[offset] for offset in sorted(by_offset)]
    end = max(by_offset, default=0) + 1
    survivors = {r.offset for r in kept}
    figure = Figure(figsize=(min(9.8, 1.9 + 1.05 * end), 2.9), dpi=100)
    ax = figure.subplots()
    for record in written:
        _box(ax, record, 1.2, faded=record.offset not in survivors)
    for offset in range(end):
        if offset not in survivors:  # the gap the removed record leaves: offsets never change
            ax.add_patch(
                Rectangle(
                    (offset + 0.05, 0),
                    0.9,
                    0.8,
                    fill=False,
                    linestyle="--",
                    edgecolor="#999999",
                )
            )
    for record in kept:
        _box(ax, record, 0)
    ax.set_xlim(-1.6, end + 0.1)
    ax.set_ylim(-0.45, 2.15)
    ax.text(-0.1, 1.6, "written", ha="right", va="center", fontsize=9)
    ax.text(-0.1, 0.4, "after the\ncleaner", ha="right", va="center", fontsize=9)
    for offset in range(end):
        ax.text(offset + 0.5, -0.25, str(offset), ha="center", va="center", fontsize=8)
    ax.text(-0.1, -0.25, "offset", ha="right", va="center", fontsize=8, color="#555555")
    ax.axis("off")
    removed = len(written) - len(kept)
    ax.set_title(
        title or f"{topic}: the cleaner removed {removed} replaced records; the offsets stay",
        fontsize=10,
    )
    figure.tight_layout()
    return figure
