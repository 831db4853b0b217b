"""A picture's title is saved beside its PNG as alt text (the static site's, a screen reader's)."""

from __future__ import annotations

from matplotlib.figure import Figure

from eda_lib.viz.alt_text import describe_figures, figure_title


def test_the_title_is_the_suptitle_else_the_panels_titles() -> None:
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert figure_title(figure) == ""
    left.set_title("before")
    right.set_title("after")
    assert figure_title(figure) == "before; after"
    figure.suptitle("a log, compacted")
    assert figure_title(figure) == "a log, compacted"


def test_outside_a_notebook_nothing_is_wrapped() -> None:
    assert describe_figures() is False
