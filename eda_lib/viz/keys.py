"""Where two partitioners put the same keys (lesson 08): one grid, rows by one client's choice,
columns by the other's. Keys on the diagonal (green) land on the same partition under both; every
key off it (red) is one whose messages the two clients would write to two partitions."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def draw_placements(
    rows: Mapping[str, int],
    columns: Mapping[str, int],
    partitions: int,
    *,
    row_name: str,
    column_name: str,
    title: str = "",
) -> Figure:
    """How many keys each pair of partitions got: `rows[key]` against `columns[key]`."""
    grid = [[0] * partitions for _ in range(partitions)]
    for key, row in rows.items():
        grid[row][columns[key]] += 1
    figure = Figure(figsize=(4.6, 4.0), dpi=100)
    ax = figure.add_subplot()
    most = max(max(row) for row in grid) or 1
    for r in range(partitions):
        for c in range(partitions):
            same = r == c  # green: the same partition under both; red: split between two
            shade = 0.15 + 0.85 * grid[r][c] / most
            colour = (0.35, 0.63, 0.31, shade) if same else (0.88, 0.34, 0.35, shade)
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fc=colour, ec="white", lw=2))
            ax.text(c, r, str(grid[r][c]), ha="center", va="center", fontsize=10)
    ax.set_xlim(-0.5, partitions - 0.5)
    ax.set_ylim(partitions - 0.5, -0.5)
    ticks = range(partitions)
    ax.set_xticks(ticks, [str(p) for p in ticks], fontsize=8)
    ax.set_yticks(ticks, [str(p) for p in ticks], fontsize=8)
    ax.set_xlabel(f"partition by {column_name}", fontsize=8)
    ax.set_ylabel(f"partition by {row_name}", fontsize=8)
    agreed = sum(grid[p][p] for p in ticks)
    ax.set_title(title or f"{agreed} of {len(rows)} keys on the same partition", fontsize=10)
    figure.tight_layout()
    return figure
