"""Lesson 12's failure lab: the same faults under each delivery semantics, and its widget."""

from __future__ import annotations

import asyncio

import pytest

from eda_lib.labs import FailureLab, LabCounters
from eda_lib.viz import FailureLabWidget


async def _scenario(semantics: str) -> LabCounters:
    lab = FailureLab(seed=1)
    await lab.set_semantics(semantics)  # type: ignore[arg-type]
    lab.set_fault("drop", 0.2)
    lab.set_fault("duplicate", 0.2)
    lab.set_crash_chance(0.1)
    lab.set_poison_every(10)
    await lab.publish(60)
    return await lab.step(20)


async def test_each_semantics_shows_its_failure_mode() -> None:
    at_most, at_least, once = [
        await _scenario(s) for s in ("at-most-once", "at-least-once", "effect-once")
    ]
    groups = 3
    for counters in (at_most, at_least, once):
        assert counters.lag == 0 and counters.produced == 60
        assert counters.dead_lettered == 6 * groups  # the poison, once per group
        unique = counters.handled - counters.duplicate_effects
        assert unique + counters.dead_lettered + counters.lost == 60 * groups  # all accounted
    assert at_most.lost > 0 and at_most.duplicate_effects == 0
    assert at_least.lost == 0 and at_least.duplicate_effects > 0
    assert once.lost == 0 and once.duplicate_effects == 0


async def test_a_group_that_is_down_falls_behind_and_catches_up() -> None:
    lab = FailureLab(groups=("shipping", "fraud"))
    await lab.set_down("fraud", True)
    await lab.publish(30)
    behind = await lab.step(5)
    assert behind.lag == 30  # fraud holds all 30; shipping is done
    await lab.set_down("fraud", False)
    assert (await lab.step(5)).lag == 0


async def test_an_outage_refuses_publishing_and_reports_it() -> None:
    lab = FailureLab()
    lab.set_fault("outage", True)
    assert await lab.publish(5) == 0
    counters = await lab.counters()
    assert (counters.produced, counters.refused) == (0, 5)


async def test_bad_settings_are_refused() -> None:
    lab = FailureLab()
    with pytest.raises(ValueError, match="unknown fault"):
        lab.set_fault("gremlins", True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        lab.set_crash_chance(2)
    with pytest.raises(ValueError, match="semantics"):
        await lab.set_semantics("exactly-once-magic")  # type: ignore[arg-type]


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


async def test_a_consumer_down_for_a_while_comes_back_by_itself() -> None:
    lab = FailureLab(groups=("shipping", "fraud"))
    await lab.set_down("fraud", True, for_seconds=3)
    await lab.publish(20)
    await lab.step(2)
    assert "fraud" in lab.down
    await lab.step(2)  # three simulated seconds have passed
    assert "fraud" not in lab.down and (await lab.counters()).lag == 0
    await lab.set_down("fraud", True, for_events=15)
    await lab.publish(10)
    await lab.step(1)
    assert "fraud" in lab.down
    await lab.publish(5)
    await lab.step(2)
    assert "fraud" not in lab.down and (await lab.counters()).lag == 0
    with pytest.raises(ValueError, match="no group"):
        await lab.set_down("billing", True)


async def test_a_slow_consumer_falls_behind() -> None:
    quick, slow = FailureLab(capacity=10), FailureLab(capacity=10)
    slow.set_slow(0.5)  # two events per simulated second
    for lab in (quick, slow):
        await lab.publish(30)
        await lab.step(3)
    assert (await quick.counters()).lag == 0
    assert (await slow.counters()).lag == 3 * (30 - 3 * 2)  # three groups, 6 handled each
    with pytest.raises(ValueError, match="seconds per event"):
        slow.set_slow(-1)
