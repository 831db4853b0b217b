"""The offset strips of lessons 06 to 10: every text readable at a notebook's width."""

from __future__ import annotations

from matplotlib.text import Text

from eda_lib.viz import draw_offsets
from eda_lib.viz.offsets import PartitionLog


def test_offset_strips_are_readable() -> None:
    logs = [
        PartitionLog(0, 0, 0, {}),
        PartitionLog(1, 0, 2, {0: "key OrderUpdated\no-4711", 1: "key OrderDeleted\no-4711"}),
        PartitionLog(2, 0, 3, {0: "o-1\nOrderCreated", 1: "o-2\nOrderCreated"}, {"view": 1}),
    ]
    figure = draw_offsets(logs, topic="orders", title="three partitions")
    texts = [t for t in figure.findobj(Text) if t.get_text().strip()]
    assert {"key OrderUpdated\no-4711", "next: 3", "view: 1 (lag 2)"} <= {
        t.get_text() for t in texts
    }
    assert min(t.get_fontsize() for t in texts) * figure.dpi / 100 >= 7.5
