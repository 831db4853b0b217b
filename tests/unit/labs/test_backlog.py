"""Lesson 02's backlog lab: lag grows at the rate and shrinks at capacity minus rate."""

from __future__ import annotations

import pytest

from eda_lib.labs import BacklogLab


async def test_lag_grows_at_the_rate_and_shrinks_at_capacity_minus_rate() -> None:
    lab = BacklogLab(rate=3, capacity=5)
    assert (await lab.tick(4)).lag == 0
    await lab.set_consumer(False)
    down = await lab.tick(10)
    assert (down.lag, down.consumer_up) == (30, False)
    await lab.set_consumer(True)
    lags = [(await lab.tick()).lag for _ in range(16)]
    assert lags[:3] == [28, 26, 24]
    assert lags.index(0) == 14  # 30 / (5 - 3) = 15 ticks
    assert len(lab.shipped) == len(set(lab.shipped)) == lab.history[-1].published


async def test_the_lab_refuses_nonsense() -> None:
    lab = BacklogLab()
    with pytest.raises(ValueError, match="between 0 and 1000"):
        lab.set_rate(-1)
    with pytest.raises(ValueError, match="ticks"):
        await lab.tick(0)
    assert "nothing has happened" in lab.summary()
