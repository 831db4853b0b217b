"""The lesson widgets: each control calls its lab or model, and the view follows."""

from __future__ import annotations

import asyncio

from eda_lib import reproducible
from eda_lib.labs import BacklogLab, FailureLab
from eda_lib.viz import BacklogLabWidget, FailureLabWidget
from tests.unit.labs.tally import _agreed
from tests.unit.viz.scenes import _scene


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


async def test_the_widget_controls_drive_the_lab_and_the_view_follows() -> None:
    lab = FailureLab(topics=("payments", "orders"), groups=("shipping", "receipts"))
    widget = FailureLabWidget(lab)
    await asyncio.gather(*widget.pending)
    first_picture = bytes(widget.picture.value)
    assert first_picture.startswith(b"\x89PNG") and "<b>0</b><br>produced" in widget.counters.value
    widget.publish.click()
    await asyncio.gather(*widget.pending)
    assert "<b>10</b><br>produced" in widget.counters.value
    widget.drop.value = 0.3
    widget.down["receipts"].value = True
    widget.semantics.value = "effect-once"
    await asyncio.gather(*widget.pending)
    assert (lab.faults.drop, lab.semantics, lab.down) == (0.3, "effect-once", {"receipts"})
    widget.run.click()
    await asyncio.gather(*widget.pending)
    counters = await lab.counters()
    assert lab.history and f"<b>{counters.lag}</b><br>lag" in widget.counters.value
    assert counters.lag >= 5  # receipts is down: its share waits
    assert bytes(widget.picture.value) != first_picture
    await _agreed(lab)


async def test_clicks_in_quick_succession_run_one_after_another() -> None:
    lab = FailureLab(groups=("shipping",))
    lab.set_poison_every(2)
    lab.set_fault("duplicate", 0.3)
    widget = FailureLabWidget(lab)
    for _ in range(3):
        widget.publish.click()
        widget.run.click()
        widget.step.click()
    await asyncio.gather(*widget.pending)
    committed: dict[tuple[str, int], int] = {}
    for hop in lab.broker.trace.select("committed"):
        assert hop.offset >= committed.get((hop.topic, hop.partition), 0)
        committed[(hop.topic, hop.partition)] = hop.offset
    assert (await lab.counters()).lag == 0 and "error" not in widget.counters.value
    tally = await _agreed(lab)
    assert tally.dead_lettered == 15 and tally.accounted == 30  # every other one is poison


async def test_the_topic_explorer_widget_refreshes_from_the_broker() -> None:
    from eda_lib.viz import TopicExplorerWidget

    broker = await _scene()
    widget = TopicExplorerWidget(broker, limit=2)
    await asyncio.gather(*widget.pending)
    assert list(widget.topic.options) == ["payments", "payments.dead-letter"]
    assert "TOPICS" in widget.output.value and "CONSUMER GROUPS" in widget.output.value
    widget.topic.value = "payments"
    widget.start.value = 1
    widget.refresh_button.click()
    await asyncio.gather(*widget.pending)
    shown = widget.output.value
    assert "MESSAGES IN payments" in shown
    offsets = [
        line.split()[1]
        for line in shown.split("MESSAGES IN payments")[1].splitlines()[2:]
        if line.strip() and not line.startswith("</pre>")
    ]
    assert offsets and set(offsets) <= {"1", "2"}  # from offset 1, at most 2 per partition


def test_the_time_travel_widget_shows_the_moment_its_slider_names() -> None:
    from eda_lib.cqrs import TimeTravel
    from eda_lib.domain import Order, OrderSummaries
    from eda_lib.labs import order_history
    from eda_lib.viz import TimeTravelWidget

    store = order_history(3)  # 1-3 placed; 4 approves o0, 5 cancels o1, 6 approves o2
    widget = TimeTravelWidget(TimeTravel(store, Order, OrderSummaries), position=4)
    assert (widget.slider.min, widget.slider.max, widget.slider.value) == (0, 6, 4)
    at_four = bytes(widget.picture.value)
    assert at_four.startswith(b"\x89PNG")
    assert widget.moment.read_model.statuses() == {
        "o0": "approved",
        "o1": "created",
        "o2": "created",
    }
    widget.slider.value = 5  # what dragging the slider does
    assert widget.moment.position == 5
    assert widget.moment.read_model.status("o1") == "cancelled"
    assert widget.moment.aggregates["o1"].status == "cancelled"
    assert bytes(widget.picture.value) != at_four
