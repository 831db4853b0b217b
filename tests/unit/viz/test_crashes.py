"""The crash picture shows what its title says: the handed-over message red when the group
resumed past it, green when it was read again, and the committed offset where the group resumes."""

from __future__ import annotations

from matplotlib.colors import to_hex
from matplotlib.patches import FancyBboxPatch

from eda_lib.kafka.librdkafka import CrashReport
from eda_lib.viz import draw_crashes


def test_the_lost_message_is_red_and_the_resumed_ones_green() -> None:
    runs = {
        "auto": CrashReport("auto", 0, 1, [1, 2]),
        "manual": CrashReport("manual", 0, None, [0, 1, 2]),
    }
    figure = draw_crashes(runs, end=3)
    (ax,) = figure.axes
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    colours = [to_hex(box.get_facecolor(), keep_alpha=False) for box in boxes]
    assert colours == ["#c44e52", "#55a868", "#55a868"] + ["#55a868"] * 3
    texts = [t.get_text() for t in ax.texts]
    assert "0\nlost" in texts and "0\nread again" in texts
    assert "committed 1" in texts and "nothing committed" in texts
