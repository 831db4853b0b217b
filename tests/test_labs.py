"""Lesson 02's labs: the backlog lab and its widget, scaling out, and live reactions."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from eda_lib import reproducible
from eda_lib.labs import BacklogLab
from eda_lib.viz import BacklogLabWidget


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


async def test_widget_controls_call_the_lab_and_redraw() -> None:
    with reproducible():
        lab = BacklogLab(rate=2, capacity=4)
        widget = BacklogLabWidget(lab, ticks_per_click=3)
        assert bytes(widget.chart.value) == b""
        widget.run.click()
        await asyncio.gather(*widget.pending)
        assert lab.history[-1].tick == 3 and widget.status.value == lab.summary()
        first_chart = bytes(widget.chart.value)
        assert first_chart.startswith(b"\x89PNG")
        widget.up.value = False  # the toggle takes the consumer down
        await asyncio.gather(*widget.pending)
        assert not lab.consumer.running
        widget.rate.value = 7
        assert lab.rate == 7
        widget.run.click()
        await asyncio.gather(*widget.pending)
        assert lab.history[-1].lag == 21 and "DOWN" in widget.status.value
        assert bytes(widget.chart.value) != first_chart


async def test_live_reactions_interleave_with_publishing() -> None:
    from eda_lib.labs import live_reactions

    run = await live_reactions(payments=4, every_s=1.0)
    assert run.published_at == {"pay-1": 0.0, "pay-2": 1.0, "pay-3": 2.0, "pay-4": 3.0}
    assert len(run.handled_at) == 3 * 4  # every group handled every payment
    # shipping polls every 0.5 s: it shipped the first order before the second payment existed
    assert run.handled_at[("shipping", "pay-1")] < run.published_at["pay-2"]
    for (group, payment_id), when in run.handled_at.items():
        assert when >= run.published_at[payment_id], (group, payment_id)  # never before it was made
    # analytics polls every 1.5 s: it takes two payments in one poll at 1.25 s
    assert run.handled_at[("analytics", "pay-1")] == run.handled_at[("analytics", "pay-2")] == 1.25


async def test_scaling_stops_where_the_partitions_end() -> None:
    from eda_lib.brokers import partition_for_key
    from eda_lib.labs import scale_out

    sizes = Counter(partition_for_key(f"order-{n}".encode(), 4) for n in range(48))
    runs = {m: await scale_out(m, partitions=4, events=48) for m in (1, 4, 5)}
    assert runs[1].handled_by == {"packer-1": 48}
    assert sorted(runs[4].handled_by.values()) == sorted(sizes.values())  # one partition each
    assert runs[5].idle == 1 and sorted(runs[5].handled_by.values())[1:] == sorted(sizes.values())
    assert runs[4].drain_seconds == pytest.approx(max(sizes.values()) * 0.1)
    assert runs[5].events_per_second == pytest.approx(runs[4].events_per_second)
