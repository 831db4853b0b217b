"""Each picture a lesson shows keeps its title beside it in the saved notebook, as the alt text
of the PNG (`outputs[i].metadata["image/png"]["alt"]`), so that the static site (`make site`)
and a screen reader can say what a picture shows without the code that drew it.

`describe_figures` wraps the PNG printer that `%matplotlib inline` registers for a `Figure`: the
same PNG, plus the figure's title as metadata. Outside IPython, or without the inline backend, it
does nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

MAX_TITLES = 3  # a figure of many panels: its first three titles say enough


def figure_title(figure: Figure) -> str:
    """The figure's title (its suptitle), else its panels' titles joined; "" if it has none."""
    suptitle = figure.get_suptitle() if hasattr(figure, "get_suptitle") else ""
    if suptitle:
        return str(suptitle)
    titles = [
        ax.get_title(loc)
        for ax in figure.axes
        for loc in ("center", "left", "right")
        if ax.get_title(loc)
    ]
    return "; ".join(titles[:MAX_TITLES])


def _described(printer: Callable[[Figure], Any]) -> Callable[[Figure], Any]:
    def png_with_title(figure: Figure) -> Any:
        data = printer(figure)
        title = figure_title(figure)
        return (data, {"alt": title}) if data is not None and title else data

    png_with_title.describes = True  # type: ignore[attr-defined]
    return png_with_title


def describe_figures() -> bool:
    """Wrap the inline backend's PNG printer for figures, once; whether it is wrapped now."""
    try:
        from IPython import get_ipython
    except ImportError:  # not in a notebook: nothing to describe
        return False
    shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:  # no inline backend: figures are not turned into PNGs here
        return False
    if not getattr(printer, "describes", False):
        formatter.for_type(Figure, _described(printer))
    return True
