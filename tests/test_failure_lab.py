"""Lesson 12's failure lab: the same faults under each delivery semantics, and its widget."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest

from eda_lib import TopicPartition
from eda_lib.codecs import decode_message
from eda_lib.labs import FailureLab, LabCounters
from eda_lib.viz import FailureLabWidget


@dataclass(frozen=True)
class Tally:
    produced: int
    handled: int
    duplicate_effects: int
    dead_lettered: int
    dead_letter_repeats: int
    lost: int
    accounted: int  # (group, event) pairs applied, dead-lettered or lost: each counted once


async def independent_tally(lab: FailureLab) -> Tally:
    """The lab's scoreboard recomputed without the trace it is computed from: the records the
    broker stores, the groups' committed offsets, the dead-letter topics (whose headers say
    which group parked which source record) and the handlers' own record of their effects."""
    broker = lab.broker
    state = await broker.describe()
    stored: dict[tuple[str, int, int], str] = {}  # (topic, partition, offset) -> event id
    for topic in lab.topics:
        for partition in range(lab.partitions):
            for record in await broker.read(topic, partition, limit=100_000):
                event = decode_message(record.value, record.headers)
                stored[(topic, partition, record.offset)] = str(event.id)
    parked: list[tuple[str, str, int, int]] = []  # (group, topic, partition, offset)
    for topic in lab.topics:
        for record in await broker.read(topic + ".dead-letter", 0, limit=100_000):
            group, source = record.header("dlt-group"), record.header("dlt-source")
            assert group is not None and source is not None
            found = re.fullmatch(r"(.+)\[(\d+)\]@(\d+)", source.decode())
            assert found is not None, source
            where = (found[1], int(found[2]), int(found[3]))
            # The parked copy is the very record it names.
            copy = decode_message(record.value, record.headers)
            assert stored[where] == str(copy.id)
            parked.append((group.decode(), *where))
    dead = set(parked)
    lost = accounted = 0
    for group in lab.groups:
        effects = lab.effects[group]
        assert set(effects) <= set(stored.values())  # no effect of an event never stored
        committed = state.group(group).committed if state.has_group(group) else {}
        for (topic, partition, offset), event_id in stored.items():
            applied = effects[event_id] > 0
            parked_here = (group, topic, partition, offset) in dead
            assert not (applied and parked_here), f"{group} applied and parked {event_id}"
            if applied or parked_here:
                accounted += 1
            elif offset < committed.get(TopicPartition(topic, partition), 0):
                lost += 1  # the group moved past it, yet it had no effect there
                accounted += 1
    counts = [n for effects in lab.effects.values() for n in effects.values()]
    return Tally(
        produced=len(stored),
        handled=sum(counts),
        duplicate_effects=sum(n - 1 for n in counts if n > 1),
        dead_lettered=len(dead),
        dead_letter_repeats=len(parked) - len(dead),
        lost=lost,
        accounted=accounted,
    )


async def _agreed(lab: FailureLab) -> Tally:
    """The independent tally, after checking the lab's own counters say the same."""
    tally, counters = await independent_tally(lab), await lab.counters()
    fields = (
        "produced",
        "handled",
        "duplicate_effects",
        "dead_lettered",
        "dead_letter_repeats",
        "lost",
    )
    assert {f: getattr(counters, f) for f in fields} == {f: getattr(tally, f) for f in fields}
    return tally


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
