"""Windows (lesson 14): tumbling ones tile time, sliding ones overlap, as declared."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eda_lib.processing import Sliding, Tumbling, Window
from tests.unit.processing.readings import TEN, at


def test_windows_tile_or_overlap_as_declared() -> None:
    assert Tumbling(TEN).windows(at(25)) == (Window(at(20), at(30)),)
    assert Tumbling(TEN).windows(at(30)) == (Window(at(30), at(40)),)  # the end is not inside
    assert Sliding(timedelta(seconds=30), TEN).windows(at(25)) == (
        Window(at(0), at(30)),
        Window(at(10), at(40)),
        Window(at(20), at(50)),
    )
    with pytest.raises(ValueError, match="positive timedelta"):
        Tumbling(timedelta(0))
    with pytest.raises(ValueError, match="whole number of steps"):
        Sliding(timedelta(seconds=25), TEN)
