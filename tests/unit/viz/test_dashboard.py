"""Lesson 14's dashboard widget: its buttons call the lab's methods."""

from __future__ import annotations

import asyncio

from eda_lib import InMemoryBroker, reproducible
from eda_lib.labs import DashboardLab
from eda_lib.viz import DashboardWidget


async def test_the_widget_buttons_call_the_labs_methods() -> None:
    with reproducible(seed=14):
        async with InMemoryBroker() as broker:
            lab = DashboardLab(broker)
            await lab.start()
            widget = DashboardWidget(lab)
            assert widget.chart.value == b""
            widget.publish.click()
            widget.process.click()
            await asyncio.gather(*widget.pending)
            first = bytes(widget.chart.value)
            widget.late.click()
            widget.process.click()
            await asyncio.gather(*widget.pending)
            await lab.stop()
    assert first.startswith(b"\x89PNG") and bytes(widget.chart.value) != first
    assert lab.published == 11 and "11 payments published" in widget.status.value
