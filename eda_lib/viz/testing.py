"""Lesson 13's pictures: a run of tests as a column of green (passed), red (failed) and grey
(skipped) marks, each with the test's name and, for a failure, what went wrong; and a property
test's search, each failing input it found, from the first to the smallest it shrank to."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from eda_lib.testing import Results

_PASSED, _FAILED, _SKIPPED = "#55a868", "#c44e52", "#aaaaaa"


def draw_results(results: Results, *, title: str = "") -> Figure:
    """One row per test, in the order they ran, as wide as its longest line."""
    rows = results.outcomes
    texts = [
        outcome.name
        if outcome.passed and not outcome.skipped
        else f"{outcome.name}: {outcome.detail}"
        for outcome in rows
    ]
    skipped = f", {results.skipped} skipped" if results.skipped else ""
    summary = f"{results.passed} passed, {results.failed} failed{skipped}"
    heading = f"{title}: {summary}" if title else summary
    # About 0.075 inches per character at 9 pt; at most 10 inches, the width of a notebook.
    longest = max([len(text[:110]) + 4 for text in texts] + [len(heading)])
    width = min(10.0, 0.4 + 0.075 * longest)
    figure = Figure(figsize=(width, 0.6 + 0.3 * max(1, len(rows))), dpi=100)
    ax = figure.add_subplot()
    for y, (outcome, text) in enumerate(zip(rows, texts, strict=True)):
        colour = _SKIPPED if outcome.skipped else _PASSED if outcome.passed else _FAILED
        ax.text(0, y, "\u25a0", va="center", ha="left", fontsize=12, color=colour)  # a square
        ax.annotate(  # 16 points right of its square, whatever the figure's width
            text[:110],
            (0, y),
            xytext=(16, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color="black" if outcome.passed else colour,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axis("off")
    ax.set_title(heading, fontsize=10, loc="left")
    figure.tight_layout()
    return figure


def plot_shrinking(failures: Sequence[Sequence[object]], *, title: str = "") -> Figure:
    """The size of each failing input a property test found, in the order it found them: the
    first is whatever the random search hit; the rest are hypothesis shrinking it. An input
    tried again (hypothesis checks its final answer once more) is drawn once, where it was
    first found."""
    distinct: list[list[object]] = []
    for failure in failures:
        if list(failure) not in distinct:
            distinct.append(list(failure))
    figure = Figure(figsize=(8.0, 2.8), dpi=100)
    ax = figure.add_subplot()
    sizes = [len(failure) for failure in distinct]
    ax.plot(range(1, len(sizes) + 1), sizes, marker="o", color=_FAILED, lw=1.2)
    for n, failure in enumerate(distinct, start=1):  # each input, written above its point
        label = str(failure)
        ax.annotate(
            label if len(label) <= 14 else label[:13] + "\u2026",
            (n, len(failure)),
            fontsize=8.5,
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
        )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8.5)
    ax.set_ylim(0, max(sizes, default=1) + 1.5)
    ax.set_xlim(0.5, len(sizes) + 0.5)
    ax.set_xlabel("distinct failing input, in the order found", fontsize=9)
    ax.set_ylabel("deliveries in it", fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(title or "a property test's failures: found, then shrunk", fontsize=10)
    figure.tight_layout()
    return figure
