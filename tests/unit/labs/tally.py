"""An independent tally of a failure lab's run, read from the topics, to check its counters by."""

from __future__ import annotations

import re
from dataclasses import dataclass

from eda_lib import TopicPartition
from eda_lib.codecs import decode_message
from eda_lib.labs import FailureLab


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
