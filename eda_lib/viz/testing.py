"""Lesson 13's picture: a run of tests as a column of green (passed) and red (failed) marks, each
with the test's name and, for a failure, what went wrong."""

from __future__ import annotations

from matplotlib.figure import Figure

from eda_lib.testing import Results

_PASSED, _FAILED = "#55a868", "#c44e52"


def draw_results(results: Results, *, title: str = "") -> Figure:
    """One row per test, in the order they ran."""
    rows = results.outcomes
    figure = Figure(figsize=(9.5, 0.7 + 0.32 * max(1, len(rows))), dpi=100)
    ax = figure.add_subplot()
    for y, outcome in enumerate(rows):
        colour = _PASSED if outcome.passed else _FAILED
        ax.scatter(0, y, marker="s", s=90, color=colour)
        text = outcome.name if outcome.passed else f"{outcome.name}: {outcome.detail}"
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
    summary = f"{results.passed} passed, {results.failed} failed"
    ax.set_title(f"{title}: {summary}" if title else summary, fontsize=9, loc="left")
    figure.tight_layout()
    return figure
