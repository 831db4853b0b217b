"""The rebalance picture: a panel per strategy, stopped partitions in grey."""

from __future__ import annotations

from matplotlib.patches import Rectangle

from eda_lib.kafka.rebalance import JoinRecord
from eda_lib.viz.rebalance import STOPPED, draw_rebalance

EAGER = JoinRecord(
    "range",
    before={"a": (0, 1, 2), "b": (3, 4, 5)},
    revoked={"a": (0, 1, 2), "b": (3, 4, 5)},
    after={"a": (0, 1), "b": (2, 3), "c": (4, 5)},
)
COOPERATIVE = JoinRecord(
    "cooperative-sticky",
    before={"a": (0, 2, 4), "b": (1, 3, 5)},
    revoked={"a": (0,), "b": (1,)},
    after={"a": (2, 4), "b": (3, 5), "c": (0, 1)},
)


def test_stopped_boxes_are_the_revoked_partitions() -> None:
    figure = draw_rebalance([EAGER, COOPERATIVE], title="t")
    eager, cooperative = figure.axes
    assert eager.get_title() == "range: 6 of 6 stopped"
    assert cooperative.get_title() == "cooperative-sticky: 2 of 6 stopped"
    for ax, stopped in ((eager, 6), (cooperative, 2)):
        grey = [
            p
            for p in ax.patches
            if isinstance(p, Rectangle) and p.get_facecolor()[:3] == (0.8, 0.8, 0.8)
        ]
        assert len(grey) == stopped
        assert sum(t.get_text() == "stopped" for t in ax.texts) == stopped
    assert STOPPED == "#cccccc"
    assert figure.get_size_inches()[0] <= 10
