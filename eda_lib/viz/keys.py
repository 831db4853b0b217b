"""Where two partitioners put the same keys (lesson 08): one grid, rows by one client's choice,
columns by the other's. Keys on the diagonal (green) land on the same partition under both; every
key off it (red) is one whose messages the two clients would write to two partitions."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle


def draw_placements(
    rows: Mapping[str, int],
    columns: Mapping[str, int],
    partitions: int,
    *,
    row_name: str,
    column_name: str,
    column_partitions: int | None = None,
    title: str = "",
) -> Figure:
    """How many keys each pair of partitions got: `rows[key]` (of `partitions`) against
    `columns[key]` (of `column_partitions`, by default as many: a topic grown from 3 partitions
    to 4 is a 3 x 4 grid)."""
    height, width = partitions, column_partitions or partitions
    grid = [[0] * width for _ in range(height)]
    for key, row in rows.items():
        grid[row][columns[key]] += 1
    figure = Figure(figsize=(1.0 + 0.9 * width, 1.4 + 0.75 * height), dpi=100)
    ax = figure.add_subplot()
    most = max(max(row) for row in grid) or 1
    for r in range(height):
        for c in range(width):
            same = r == c  # green: the same partition under both; red: split between two
            shade = 0.15 + 0.85 * grid[r][c] / most
            colour = (0.35, 0.63, 0.31, shade) if same else (0.88, 0.34, 0.35, shade)
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc=colour, ec="white", lw=2))
            ax.text(c, r, str(grid[r][c]), ha="center", va="center", fontsize=10)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_xticks(range(width), [str(p) for p in range(width)], fontsize=8)
    ax.set_yticks(range(height), [str(p) for p in range(height)], fontsize=8)
    ax.set_xlabel(f"partition by {column_name}", fontsize=8)
    ax.set_ylabel(f"partition by {row_name}", fontsize=8)
    agreed = sum(grid[p][p] for p in range(min(height, width)))
    ax.set_title(title or f"{agreed} of {len(rows)} keys on the same partition", fontsize=10)
    ax.legend(
        handles=[
            Patch(color=(0.35, 0.63, 0.31), label="same partition under both"),
            Patch(color=(0.88, 0.34, 0.35), label="another partition"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout()
    return figure
