"""The event-sourcing pictures of lessons 05, 09 and 10: every text readable, the time-travel
tables close together, and the CQRS flow naming what its colours mean."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.text import Text

from eda_lib.cqrs import TimeTravel
from eda_lib.domain import Order, OrderSummaries
from eda_lib.labs import order_history
from eda_lib.viz import draw_cqrs_flow, draw_log, draw_moment


def smallest_text(figure: Figure) -> float:
    """The smallest text in points, as it shows at 100 dpi (a notebook's width)."""
    figure.canvas.draw()  # lays out the tables, whose cells only then hold their final text
    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip()]
    return min(sizes) * figure.dpi / 100


def test_the_log_labels_each_event_with_its_version_readably() -> None:
    store = order_history(3)
    figure = draw_log(store.read_all())
    [ax] = figure.axes
    labels = [t.get_text() for t in ax.texts]
    assert sorted(labels) == sorted(f"v{s.version}" for s in store.read_all())
    assert smallest_text(figure) >= 7.5
    assert figure.get_figwidth() <= 10


def test_a_moment_has_its_tables_close_together_and_readable() -> None:
    store = order_history(3)
    moment = TimeTravel(store, Order, OrderSummaries).at(4)
    figure = draw_moment(moment, store.read_all())
    strip, aggregates, view = figure.axes
    inches = figure.get_figheight()
    gap = (aggregates.get_position().y0 - view.get_position().y1) * inches
    assert gap < 0.5  # room for the read model's title, no more
    assert smallest_text(figure) >= 7.5
    assert figure.get_figwidth() <= 10
    assert "position 4 of 6" in strip.get_title(loc="left")


def test_the_cqrs_flow_explains_its_colours_and_feeds_a_read_model_from_the_topic() -> None:
    figure = draw_cqrs_flow()
    [ax] = figure.axes
    boxes = {t.get_text() for t in ax.texts}
    assert "consumer\n(another service)" in boxes and "its own\nread model" in boxes
    assert not any("expected version" in text for text in boxes)  # lesson 09's idea, not 05's
    [legend] = figure.legends
    assert len(legend.get_texts()) == 4  # one entry per colour used
    assert smallest_text(figure) >= 7.5
