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
    """One row per test, in the order they ran."""
    rows = results.outcomes
    figure = Figure(figsize=(9.5, 0.7 + 0.32 * max(1, len(rows))), dpi=100)
    ax = figure.add_subplot()
    for y, outcome in enumerate(rows):
        colour = _SKIPPED if outcome.skipped else _PASSED if outcome.passed else _FAILED
        ax.scatter(0, y, marker="s", s=90, color=colour)
        shown = outcome.passed and not outcome.skipped
        text = outcome.name if shown else f"{outcome.name}: {outcome.detail}"
        ax.text(
            0.03,
            y,
            text[:110],
            va="center",
            fontsize=8,
            color="black" if outcome.passed else colour,
        )
    ax.set_xlim(-0.02, 1)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axis("off")
    skipped = f", {results.skipped} skipped" if results.skipped else ""
    summary = f"{results.passed} passed, {results.failed} failed{skipped}"
    ax.set_title(f"{title}: {summary}" if title else summary, fontsize=9, loc="left")
    figure.tight_layout()
    return figure


def plot_shrinking(failures: Sequence[Sequence[object]], *, title: str = "") -> Figure:
    """The size of each failing input a property test found, in the order it found them: the
    first is whatever the random search hit; the rest are hypothesis shrinking it."""
    figure = Figure(figsize=(8.0, 2.8), dpi=100)
    ax = figure.add_subplot()
    sizes = [len(failure) for failure in failures]
    ax.plot(range(1, len(sizes) + 1), sizes, marker="o", color=_FAILED, lw=1.2)
    for n, failure in enumerate(failures, start=1):  # each input, written beside its point
        ax.annotate(
            str(list(failure)),
            (n, len(failure)),
            fontsize=7.5,
            rotation=30,
            xytext=(0, 7),
            textcoords="offset points",
            ha="left",
        )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(sizes, default=1) + 1.5)
    ax.set_xlim(0.5, len(sizes) + 1)
    ax.set_xlabel("failing input, in the order found", fontsize=9)
    ax.set_ylabel("deliveries in it", fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(title or "a property test's failures: found, then shrunk", fontsize=9)
    figure.tight_layout()
    return figure
