"""Blocking retries against retry topics (lesson 12, section 2): when each payment was tried,
one row per payment, one panel per way of retrying. A cross is a failed attempt, a dot the
attempt that succeeded; a grey bar is the time a payment spent waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

Tries = Mapping[str, Sequence[tuple[float, bool]]]  # payment -> (minute, succeeded) per attempt


def draw_retries(panels: Mapping[str, Tries], *, title: str = "") -> Figure:
    """`panels`: a title for each way of retrying and, for each payment, its attempts."""
    rows = list(next(iter(panels.values())))
    end = max(m for tries in panels.values() for a in tries.values() for m, _ in a)
    figure = Figure(figsize=(9.5, 1.2 + 0.42 * len(rows) * len(panels)), dpi=100)
    axes = figure.subplots(len(panels), 1, sharex=True)
    for ax, (name, tries) in zip(axes, panels.items(), strict=True):
        for row, payment in enumerate(rows):
            y = len(rows) - 1 - row
            attempts = tries[payment]
            ax.plot([0, attempts[-1][0]], [y, y], color="#cccccc", linewidth=5, zorder=1)
            for minute, ok in attempts:
                marker, colour = ("o", "#55a868") if ok else ("x", "#c44e52")
                ax.scatter([minute], [y], marker=marker, color=colour, s=70, zorder=2)
            ax.annotate(
                f"{attempts[-1][0]:g} min",
                (attempts[-1][0], y),
                xytext=(8, -4),
                textcoords="offset points",
                fontsize=9,
            )
        ax.set_yticks(range(len(rows)), list(reversed(rows)), fontsize=9)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_xlim(-0.5, end * 1.15 + 0.5)
        ax.tick_params(labelsize=9)
    axes[-1].set_xlabel("minutes since the payments were sent (x: failed attempt, o: handled)")
    axes[-1].xaxis.label.set_size(9)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure
