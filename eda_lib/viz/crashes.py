"""A consumer killed between poll and handling, once per commit style (lesson 08): one strip per
run, a box per offset of the partition. The message it was handed is outlined in black; red when
the group resumed past it (lost), green when the group read it again. The marker is the group's
committed offset at the kill: where it resumes.

`draw_takeover` (lesson 15): how many partitions a group member owns over time, once its
partner has left with `close()` and once it was killed, against the session timeout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from eda_lib.kafka.librdkafka import CrashReport


def draw_crashes(runs: Mapping[str, CrashReport], *, end: int, title: str = "") -> Figure:
    """`runs`: a name for each run (a row) and its report; `end`: the partition's next offset."""
    figure = Figure(figsize=(3.6 + 1.3 * end, 0.9 + 1.2 * len(runs)), dpi=100)
    ax = figure.add_subplot()
    for row, (name, run) in enumerate(runs.items()):
        y = len(runs) - 1 - row
        for offset in range(end):
            if offset == run.polled:
                colour = "#c44e52" if run.lost else "#55a868"
                text = f"{offset}\nlost" if run.lost else f"{offset}\nread again"
            else:
                colour = "#55a868" if offset in run.resumed else "#cccccc"
                text = str(offset)
            ax.add_patch(
                FancyBboxPatch(
                    (offset + 0.08, y + 0.15),
                    0.84,
                    0.6,
                    boxstyle="round,pad=0.02",
                    facecolor=colour,
                    alpha=0.85,
                    edgecolor="black" if offset == run.polled else colour,
                    linewidth=2.2 if offset == run.polled else 1,
                )
            )
            ax.text(offset + 0.5, y + 0.45, text, ha="center", va="center", fontsize=9)
        at = run.committed if run.committed is not None else 0
        ax.plot([at, at], [y + 0.05, y + 0.85], color="#333333", linewidth=3)
        said = f"committed {run.committed}" if run.committed is not None else "nothing committed"
        ax.text(at, y + 0.92, said, ha="center", va="bottom", fontsize=8)
        ax.text(-0.15, y + 0.45, name, ha="right", va="center", fontsize=9)
    ax.set_xlim(-2.8, end + 0.2)  # room on the left for the row names
    ax.set_ylim(-0.1, len(runs) + 0.1)
    ax.axis("off")
    ax.set_title(
        title or "killed after the poll, before handling\n(green: read when the group resumes)",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


Change = tuple[float, str, str, Sequence[int]]
"""(monotonic time, group, member, the partitions it owns from then on)."""


def draw_takeover(
    changes: Sequence[Change],
    lines: Mapping[str, str],
    *,
    member: str,
    start: float,
    stop: float,
    session: float,
    partitions: int,
    title: str = "",
) -> Figure:
    """One step line per entry of `lines` (its label: its group): how many partitions `member`
    of that group owned from `start` (the close and the kill) to `stop`, in seconds after
    `start`, with the session timeout marked."""
    figure = Figure(figsize=(8, 2.8), dpi=100)
    ax = figure.add_subplot()
    for (label, group), style in zip(lines.items(), ("-", "--", ":", "-."), strict=False):
        mine = [(t - start, len(p)) for t, g, m, p in changes if (g, m) == (group, member)]
        before = [n for t, n in mine if t < 0]  # what it owned when its partner went
        steps = [(0.0, before[-1] if before else 0)]
        steps += [(t, n) for t, n in mine if 0 < t < stop - start]
        steps.append((stop - start + 1, steps[-1][1]))
        xs, ys = zip(*steps, strict=True)
        ax.step(xs, ys, where="post", label=label, linewidth=2, linestyle=style)
    ax.axvline(session, color="grey", linestyle=":", label="session.timeout.ms")
    ax.set_xlabel("seconds after the close and the kill")
    ax.set_ylabel(f"partitions {member} owns")
    ax.set_yticks(range(partitions + 1))
    ax.set_title(title or f"{member} takes over", fontsize=10)
    ax.legend(title=f"{member}'s partner", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    figure.tight_layout()
    return figure
