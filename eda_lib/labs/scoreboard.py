"""The failure lab's scoreboard (lesson 12): what was produced, delivered, applied, repeated,
dead-lettered and lost, read from the trace, the broker's state and the effects themselves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eda_lib.brokers.base import Broker, TopicPartition
from eda_lib.messaging import Producer


@dataclass(frozen=True)
class LabCounters:
    produced: int  # events the shop's producer got stored
    refused: int  # sends given up on while the broker was down
    delivered: int  # deliveries to consumers, repeats included
    handled: int  # effects applied (a duplicate effect counts again)
    duplicate_effects: int  # effects applied more than once for the same event and group
    duplicates_suppressed: int  # repeats a consumer recognised and skipped
    dead_lettered: int  # events a group parked in a dead-letter topic (each counted once)
    dead_letter_repeats: int  # extra copies: the same event parked again after a crash
    lost: int  # committed by a group, but never handled or dead-lettered there
    lag: int


async def tally(
    broker: Broker,
    producer: Producer,
    groups: Sequence[str],
    effects: Mapping[str, Counter[str]],
) -> LabCounters:
    """`effects[group][event id]` counts how often each group applied each event."""
    trace = broker.trace
    state = await broker.describe()
    live = [g for g in groups if state.has_group(g)]
    # Which event sits at each offset: a send is a 'produced' hop, then 'stored' (or not).
    at: dict[tuple[str, int, int], str] = {}
    pending = ""
    for hop in trace:
        if hop.kind == "produced" and hop.actor == producer.name:
            pending = hop.event_id
        elif hop.kind == "stored" and hop.actor == producer.name and pending:
            at[(hop.topic, hop.partition, hop.offset)] = pending
            pending = ""
    parked = [(h.group, h.topic, h.partition, h.offset) for h in trace.select("dead_lettered")]
    dead = set(parked)
    lost = 0
    for group in live:
        done, committed = effects[group], state.group(group).committed
        for (topic, partition, offset), event_id in at.items():
            settled = offset < committed.get(TopicPartition(topic, partition), 0)
            if settled and not done[event_id] and (group, topic, partition, offset) not in dead:
                lost += 1
    return LabCounters(
        produced=len(at),
        refused=sum(1 for o in producer.outcomes if not o.stored),
        delivered=len(trace.select("delivered")),
        handled=sum(sum(c.values()) for c in effects.values()),
        duplicate_effects=sum(n - 1 for c in effects.values() for n in c.values() if n > 1),
        duplicates_suppressed=len(trace.select("duplicate")),
        dead_lettered=len(dead),
        dead_letter_repeats=len(parked) - len(dead),
        lost=lost,
        lag=sum(state.group(g).total_lag for g in live),
    )
