"""Self-checking exercises of lesson 03 (use cases): a rule that alerts on sustained heat, not on a
glitch, and an auditor that reads a topic from its start."""

from __future__ import annotations

from collections import Counter
from typing import Any

from eda_lib.brokers.base import TopicPartition
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.domain.telemetry import SensorReading, TemperatureAlert
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, fail
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer

HEAT_THRESHOLD = 75.0


def _reading(sensor: str, celsius: float) -> SensorReading:
    return SensorReading(sensor_id=sensor, celsius=celsius)


def check_sustained_rule(rule_class: Any) -> Check:
    """Lesson 03, exercise 1: a rule whose `handle(reading)` returns a TemperatureAlert when a
    sensor's third reading in a row is over 75 °C (a single hot reading is noise), once, and
    again only after that sensor has cooled down to 75 or below; otherwise None."""
    hot, cool = 80.0, 60.0
    cases = [
        ("one glitch", [("s1", cool), ("s1", 95.0), ("s1", cool), ("s1", cool)], []),
        ("three hot in a row", [("s1", hot), ("s1", hot), ("s1", hot), ("s1", hot)], [2]),
        ("exactly 75 is not over", [("s1", 75.0)] * 4, []),
        (
            "two sensors interleaved",
            [("s1", hot), ("s2", hot), ("s1", hot), ("s2", cool), ("s1", hot), ("s2", hot)],
            [4],
        ),
        (
            "the other sensor alerts",
            [("s1", hot), ("s2", 81.0), ("s2", 82.0), ("s1", cool), ("s2", 83.0)],
            [4],
        ),
        (
            "hot, cool, hot again",
            [("s1", hot)] * 3 + [("s1", cool)] + [("s1", hot)] * 3,
            [2, 6],
        ),
        ("six hot in a row: one alert", [("s1", hot)] * 6, [2]),
        ("exactly 75 cools it down", [("s1", hot), ("s1", hot), ("s1", 75.0), ("s1", hot)], []),
        (
            "a cool reading between hot ones starts the count again",
            [("s1", hot), ("s1", hot), ("s1", cool), ("s1", hot), ("s1", hot)],
            [],
        ),
    ]
    for case, sequence, expected in cases:
        try:
            rule = rule_class()
            answers = [rule.handle(_reading(s, c)) for s, c in sequence]
        except Exception as error:
            return fail(f"{case}: your rule raised {type(error).__name__}: {error}", "see above")
        odd = next(
            (a for a in answers if a is not None and not isinstance(a, TemperatureAlert)), None
        )
        if odd is not None:
            return fail(
                f"{case}: handle returned {odd!r}",
                "return a TemperatureAlert for an alert, and None (not False) for no alert",
            )
        raised = [n for n, answer in enumerate(answers) if answer is not None]
        if raised != expected:
            shown = ", ".join(f"{s} {c:g}" for s, c in sequence)
            return fail(
                f"{case} ({shown}): alerts after readings {[n + 1 for n in raised]}, "
                f"expected after {[n + 1 for n in expected]}",
                "count hot readings in a row per sensor (a dict); alert when the count reaches 3; "
                "reset the count when a reading is 75 or below",
            )
        for n in expected:
            alert, (sensor, celsius) = answers[n], sequence[n]
            if (alert.sensor_id, alert.celsius) != (sensor, celsius):
                return fail(
                    f"{case}: the alert after reading {n + 1} says {alert.sensor_id} at "
                    f"{alert.celsius:g} °C, expected {sensor} at {celsius:g} °C",
                    "an alert names the sensor and the temperature of the reading that "
                    "raised it: sensor_id=reading.sensor_id, celsius=reading.celsius",
                )
    return Check(True, "a glitch no longer wakes anyone up; a sensor that stays hot does")


async def check_auditor(audit: Any) -> Check:
    """Lesson 03, exercise 2: `async def audit(broker, topic)` that reads the whole topic as a
    new consumer group and returns the event types in order, leaving other groups alone."""

    async with InMemoryBroker() as broker:
        await broker.create_topic("ledger")
        history: list[Event] = [
            PaymentSuccessful(payment_id="p1", order_id="o1", amount=100, currency="usd"),
            PaymentFailed(payment_id="p2", order_id="o2", amount=200, currency="usd", reason="x"),
            PaymentSuccessful(payment_id="p3", order_id="o3", amount=300, currency="usd"),
        ]
        await Producer(broker, "payments").send_all("ledger", history)

        def book(event: Event) -> None:
            pass

        async with Consumer(broker, "bookkeeping", "ledger", book, start="earliest") as early:
            await early.run()
        try:
            types = await audit(broker, "ledger")
        except Exception as error:
            return fail(
                f"your audit raised {type(error).__name__}: {error}",
                "use `async with Consumer(broker, 'auditor', topic, start='earliest') as c:` and "
                "`async for event in c.events():` (it ends when the topic is idle)",
            )
        state = await broker.describe()
        groups = {g.group: g for g in state.groups}
        # the distinct records each group handled, to tell a group that read the topic itself
        # from one that joined and returned what something else read
        records = {(h.group, h.partition, h.offset) for h in broker.trace.select("handled")}
        handled = Counter(group for group, _, _ in records)
        ends = {TopicPartition(p.topic, p.partition): p.end_offset for p in state.topic("ledger")}
    expected = [e.event_type for e in history]
    if not isinstance(types, list | tuple):
        return fail(f"audit returned {types!r}, not a list", "`return types` at the end")
    if not types and len(groups) < 2:
        return fail(
            "audit returned [], and no consumer group of its own joined",
            "join a new group, e.g. Consumer(broker, 'auditor', topic, start='earliest'): an "
            "existing one, like 'bookkeeping', goes on from where it stopped, the end",
        )
    if not types:
        return fail(
            "audit returned []: its new group read nothing",
            "start='earliest': a new group starting at 'latest' reads only what is published "
            "after it joins; then read until the topic is idle",
        )
    if list(types) != expected:
        return fail(
            f"audit returned {types!r}, expected {expected}",
            "read until the topic is idle (no break), collecting event.event_type of each "
            "event, in the order they come",
        )
    if len(groups) < 2:
        return fail(
            "the types are right, but no consumer group of the auditor's own read them",
            "an auditor runs for ever and must remember its place: read as a consumer in a "
            "group of its own, e.g. Consumer(broker, 'auditor', topic, start='earliest')",
        )
    readers = [
        g
        for g in groups
        if g != "bookkeeping"
        and handled[g] == len(history)
        and all(groups[g].committed.get(tp) == end for tp, end in ends.items())
    ]
    if not readers:
        new = sorted(set(groups) - {"bookkeeping"})[0]
        return fail(
            f"the types are right, but group '{new}' read {handled[new]} of the {len(history)} "
            "events itself and did not commit to the end",
            "return what the auditor's own consumer read: start='earliest', and collect "
            "event.event_type inside `async for event in consumer.events():`",
        )
    return Check(
        True,
        f"the group '{readers[0]}' joined late and read all {len(history)} events itself, "
        "from the oldest the broker keeps",
    )
