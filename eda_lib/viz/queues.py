"""The queue side of lesson 07: workers competing for one queue, drawn on the simulated clock.
Each box is one message in one worker's hands; a worker that died holding a message is red, and
the message it held shows up again, outlined, in the hands of the worker that took it next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from eda_lib.queues import Handling


def draw_workers(log: Sequence[Handling], *, title: str = "") -> Figure:
    """One lane per worker, one box per message it handled, along simulated time."""
    workers = sorted({h.worker for h in log})
    end = max((h.end for h in log), default=1.0)
    figure = Figure(figsize=(min(14.0, 2.0 + 0.9 * end), 1.0 + 0.7 * len(workers)), dpi=100)
    ax = figure.add_subplot()
    seen: set[int] = set()
    redelivered = {h.message for h in log if h.outcome == "died"}
    for h in log:
        y = len(workers) - 1 - workers.index(h.worker)
        again = h.message in seen and h.message in redelivered
        seen.add(h.message)
        ax.add_patch(
            FancyBboxPatch(
                (h.start + 0.04, y - 0.28),
                h.end - h.start - 0.08,
                0.56,
                boxstyle="round,pad=0.01",
                fc="#c44e52" if h.outcome == "died" else "#4c72b0",
                ec="black" if again else "none",
                lw=1.6,
            )
        )
        label = f"{h.message}" + (" died" if h.outcome == "died" else "")
        label += " (again)" if again else ""
        ax.text(
            (h.start + h.end) / 2, y, label, ha="center", va="center", fontsize=7, color="white"
        )
    share = Counter(h.worker for h in log if h.outcome == "acked")
    ax.set_yticks(
        range(len(workers)), [f"{w} ({share[w]} acked)" for w in reversed(workers)], fontsize=8
    )
    ax.set_xlim(0, end + 0.2)
    ax.set_ylim(-0.6, len(workers) - 0.4)
    ax.set_xlabel("simulated seconds", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or "workers compete: each message goes to whoever is free", fontsize=10)
    figure.tight_layout()
    return figure
