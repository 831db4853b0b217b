"""A zombie producer fenced (lesson 12): one lane each for the frozen writer, the new producer
with its `transactional.id`, and a `read_committed` reader, with what each did, in order. The
labels carry what the lesson measured; the x axis is the order of the steps, not time."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

LANES = ("zombie\n(own process)", "new producer\n(same transactional.id)", "read_committed\nreader")
RED, GREEN, BLUE, ORANGE = "#c44e52", "#55a868", "#4c72b0", "#dd8452"


def _names(values: Sequence[bytes]) -> str:
    return ", ".join(value.decode() for value in values) or "nothing"


def draw_fencing(
    *,
    written: Sequence[bytes],
    late: bytes,
    stuck: Sequence[bytes],
    passed: Sequence[bytes],
    refusal: str,
    title: str = "",
) -> Figure:
    """`written`: what the zombie wrote before it froze; `late`: what it tried after waking;
    `stuck` and `passed`: what the reader got before and after the fencing; `refusal`: the
    error the zombie's late write and commit got."""
    figure = Figure(figsize=(10, 3.4), dpi=100)
    ax = figure.add_subplot()
    y = {lane: len(LANES) - 1 - row for row, lane in enumerate(LANES)}
    zombie, fencer, reader = (y[lane] for lane in LANES)
    for lane, row in y.items():
        ax.axhline(row, color="#dddddd", linewidth=1, zorder=0)
        ax.text(-0.6, row, lane, ha="right", va="center", fontsize=9)
    # the freeze: from just after the writes to the wake-up
    ax.barh(zombie, 3.6, left=0.7, height=0.35, color="#bbbbbb", hatch="//", edgecolor="#888888")
    ax.text(
        3.2,
        zombie,
        "frozen (SIGSTOP):\nits transaction stays open",
        ha="center",
        va="center",
        fontsize=8,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
    )
    steps = [
        (0, zombie, BLUE, f"begins, writes\n{_names(written)}"),
        (1, reader, RED, f"stuck: gets {_names(stuck)}\n(stops at the open transaction)"),
        (2, fencer, ORANGE, "init_transactions:\naborts it, epoch + 1"),
        (3, reader, GREEN, f"gets past:\n{_names(passed)}"),
        (4.6, zombie, BLUE, f"wakes (SIGCONT),\nwrites {late.decode()}, commits"),
        (5.8, zombie, RED, f"refused:\n{refusal}"),
    ]
    for x, row, colour, label in steps:
        ax.plot(x, row, "o", markersize=11, color=colour, zorder=3)
        ax.text(x, row - 0.22, label, ha="center", va="top", fontsize=8)
    # the fencing happens at the broker while the zombie is frozen: it learns of it on waking
    ax.annotate(
        "",
        xy=(2, zombie - 0.2),
        xytext=(2, fencer + 0.1),
        arrowprops={"arrowstyle": "->", "color": ORANGE, "linestyle": "--"},
    )
    ax.set_xlim(-2.2, 6.7)
    ax.set_ylim(-0.85, len(LANES) - 0.6)
    ax.axis("off")
    ax.set_title(title or "a frozen transactional producer, fenced by its successor", fontsize=10)
    figure.tight_layout()
    return figure
