"""Lesson 13's pictures: a run of tests, and a property test's shrinking."""

from __future__ import annotations

from matplotlib.text import Text

from eda_lib.testing import Outcome, Results
from eda_lib.viz import draw_results, plot_shrinking


def _texts(figure) -> list[Text]:  # type: ignore[no-untyped-def]
    return [t for t in figure.findobj(Text) if t.get_text()]


def test_the_results_are_as_wide_as_their_longest_line_and_readable() -> None:
    results = Results()
    results.outcomes += [
        Outcome("short", True),
        Outcome("broken", False, "published [], expected ['LargePaymentFlagged']"),
        Outcome("on kafka", True, "needs kafka", skipped=True),
    ]
    figure = draw_results(results, title="a table")
    width = figure.get_size_inches()[0]
    assert width < 6  # three short lines: no page of white space
    shown = [t.get_text() for t in _texts(figure)]
    assert "a table: 1 passed, 1 failed, 1 skipped" in shown
    assert "broken: published [], expected ['LargePaymentFlagged']" in shown
    assert "on kafka: needs kafka" in shown  # a skipped test says why
    assert all(t.get_fontsize() >= 7.5 for t in _texts(figure))
    long = draw_results(Results([Outcome("x" * 200, True)]))
    assert long.get_size_inches()[0] <= 10.0  # never wider than a notebook
    assert "x" * 110 in [t.get_text() for t in _texts(long)]  # a long name is cut


def test_the_shrinking_draws_each_failing_input_once_upright_and_readable() -> None:
    found = [[2, 1, 2], [2, 1, 2], [2, 0, 2], [0, 0, 0], [0, 0], [0, 0], list(range(9))]
    figure = plot_shrinking(found)
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["[2, 1, 2]", "[2, 0, 2]", "[0, 0, 0]", "[0, 0]", "[0, 1, 2, 3, \u2026"]
    assert ax.get_xlim() == (0.5, 5.5)  # no empty place after the last input
    assert all(t.get_rotation() == 0 for t in ax.texts)
    ticks = ax.get_xticklabels() + ax.get_yticklabels()
    assert all(t.get_fontsize() >= 7.5 for t in [*ax.texts, *ticks])
