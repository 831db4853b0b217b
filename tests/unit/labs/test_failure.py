"""Lesson 12's failure lab: the same faults under each delivery semantics."""

from __future__ import annotations

import pytest

from eda_lib.labs import FailureLab, LabCounters
from tests.unit.labs.tally import Tally, _agreed


async def _scenario(semantics: str) -> tuple[LabCounters, Tally]:
    lab = FailureLab(seed=1)
    await lab.set_semantics(semantics)  # type: ignore[arg-type]
    lab.set_fault("drop", 0.2)
    lab.set_fault("duplicate", 0.2)
    lab.set_crash_chance(0.1)
    lab.set_poison_every(10)
    await lab.publish(60)
    counters = await lab.step(20)
    return counters, await _agreed(lab)


async def test_each_semantics_shows_its_failure_mode() -> None:
    runs = [await _scenario(s) for s in ("at-most-once", "at-least-once", "effect-once")]
    groups = 3
    for counters, tally in runs:
        assert counters.lag == 0 and counters.produced == tally.produced == 60
        assert counters.dead_lettered == tally.dead_lettered == 6 * groups  # the poison, per group
        unique = counters.handled - counters.duplicate_effects
        assert unique + counters.dead_lettered + counters.lost == 60 * groups  # all accounted
        assert tally.accounted == 60 * groups  # ... each event once, in every group
    (at_most, _), (at_least, _), (once, _) = runs
    assert at_most.lost > 0 and at_most.duplicate_effects == 0
    assert at_least.lost == 0 and at_least.duplicate_effects > 0
    assert once.lost == 0 and once.duplicate_effects == 0


async def test_a_group_that_is_down_falls_behind_and_catches_up() -> None:
    lab = FailureLab(groups=("shipping", "fraud"))
    await lab.set_down("fraud", True)
    await lab.publish(30)
    behind = await lab.step(5)
    assert behind.lag == 30  # fraud holds all 30; shipping is done
    assert (await _agreed(lab)).handled == 30  # shipping's share only
    await lab.set_down("fraud", False)
    assert (await lab.step(5)).lag == 0
    assert (await _agreed(lab)).handled == 60


async def test_an_outage_refuses_publishing_and_reports_it() -> None:
    lab = FailureLab()
    lab.set_fault("outage", True)
    assert await lab.publish(5) == 0
    counters = await lab.counters()
    assert (counters.produced, counters.refused) == (0, 5)
    assert (await _agreed(lab)).produced == 0


async def test_bad_settings_are_refused() -> None:
    lab = FailureLab()
    with pytest.raises(ValueError, match="unknown fault"):
        lab.set_fault("gremlins", True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        lab.set_crash_chance(2)
    with pytest.raises(ValueError, match="semantics"):
        await lab.set_semantics("exactly-once-magic")  # type: ignore[arg-type]


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
    assert (await _agreed(lab)).handled == 2 * 35  # both groups, every event
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
