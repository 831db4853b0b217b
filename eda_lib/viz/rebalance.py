"""Who consumes each partition around a rebalance (lesson 08): one panel per assignment strategy,
a row per partition, three columns: before a member joins, while the group rebalances, after it.
A box holds the member consuming the partition; a grey "stopped" box is one that was revoked, so
nobody consumes it until it is assigned again."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from eda_lib.kafka.rebalance import JoinRecord

COLOURS = {"a": "#4c72b0", "b": "#dd8452", "c": "#55a868"}
STOPPED = "#cccccc"


def _owner(owned: dict[str, tuple[int, ...]], partition: int) -> str:
    return next((name for name, parts in owned.items() if partition in parts), "")


def draw_rebalance(records: Sequence[JoinRecord], *, title: str = "") -> Figure:
    """`records`: `join_third`'s records, one panel each, all on the same partitions."""
    partitions = sorted({p for parts in records[0].after.values() for p in parts})
    figure = Figure(figsize=(4.2 * len(records), 1.3 + 0.42 * len(partitions)), dpi=100)
    phases = ("before", "rebalancing", "after")
    for index, record in enumerate(records):
        ax = figure.add_subplot(1, len(records), index + 1)
        for row, partition in enumerate(partitions):
            y = len(partitions) - 1 - row
            had = _owner(record.before, partition)
            kept = "" if partition in record.revoked.get(had, ()) else had
            for column, owner in enumerate((had, kept, _owner(record.after, partition))):
                colour = COLOURS.get(owner, STOPPED)
                ax.add_patch(
                    Rectangle((column + 0.05, y + 0.08), 0.9, 0.84, facecolor=colour, alpha=0.85)
                )
                ax.text(
                    column + 0.5, y + 0.5, owner or "stopped", ha="center", va="center", fontsize=9
                )
            ax.text(-0.08, y + 0.5, f"partition {partition}", ha="right", va="center", fontsize=9)
        for column, phase in enumerate(phases):
            ax.text(
                column + 0.5, len(partitions) + 0.1, phase, ha="center", va="bottom", fontsize=9
            )
        stopped = sum(len(parts) for parts in record.revoked.values())
        ax.set_title(f"{record.strategy}: {stopped} of {len(partitions)} stopped", fontsize=10)
        ax.set_xlim(-1.1, 3.05)
        ax.set_ylim(-0.05, len(partitions) + 0.6)
        ax.axis("off")
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure
