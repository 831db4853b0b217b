"""Lesson 03's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from eda_lib import Consumer
from eda_lib.codecs import decode_message
from eda_lib.domain import SensorReading, TemperatureAlert
from eda_lib.exercises.lesson03 import check_auditor, check_sustained_rule
from eda_lib.explorer import events


class _Naive:
    def handle(self, reading: SensorReading) -> TemperatureAlert | None:
        if reading.celsius > 75:
            return reading.follow_up(
                TemperatureAlert, sensor_id=reading.sensor_id, celsius=reading.celsius, threshold=75
            )
        return None


class _Sustained:
    def __init__(self) -> None:
        self.hot: dict[str, int] = {}

    def handle(self, reading: SensorReading) -> TemperatureAlert | None:
        if reading.celsius <= 75:
            self.hot[reading.sensor_id] = 0
            return None
        self.hot[reading.sensor_id] = self.hot.get(reading.sensor_id, 0) + 1
        if self.hot[reading.sensor_id] != 3:
            return None
        return reading.follow_up(
            TemperatureAlert, sensor_id=reading.sensor_id, celsius=reading.celsius, threshold=75
        )


class _NotPerSensor:
    """Counts hot readings of all sensors together: interleaved sensors fool it."""

    def __init__(self) -> None:
        self.hot = 0

    def handle(self, reading: SensorReading) -> TemperatureAlert | None:
        self.hot = self.hot + 1 if reading.celsius > 75 else 0
        if self.hot != 3:
            return None
        return reading.follow_up(
            TemperatureAlert, sensor_id=reading.sensor_id, celsius=reading.celsius, threshold=75
        )


def test_the_sustained_rule_check() -> None:
    assert check_sustained_rule(_Sustained)
    naive = check_sustained_rule(_Naive)
    assert (
        not naive and "one glitch" in naive.message and "alerts after readings [2]" in naive.message
    )
    mixed = check_sustained_rule(_NotPerSensor)
    assert not mixed and "two sensors interleaved" in mixed.message
    assert "raised" in check_sustained_rule(int).message

    class SaysFalse(_Sustained):
        def handle(self, reading: SensorReading) -> Any:
            return super().handle(reading) or False

    assert "None (not False)" in check_sustained_rule(SaysFalse).message

    class EveryThird(_Sustained):  # alerts on the 3rd, 6th, ... hot reading: no cooling needed
        def handle(self, reading: SensorReading) -> TemperatureAlert | None:
            if reading.celsius <= 75:
                self.hot[reading.sensor_id] = 0
                return None
            self.hot[reading.sensor_id] = self.hot.get(reading.sensor_id, 0) + 1
            if self.hot[reading.sensor_id] % 3:
                return None
            return reading.follow_up(
                TemperatureAlert, sensor_id=reading.sensor_id, celsius=reading.celsius, threshold=75
            )

    class SeventyFiveIsNeither(_Sustained):  # 75 neither counts nor cools
        def handle(self, reading: SensorReading) -> TemperatureAlert | None:
            if reading.celsius == 75:
                return None
            return super().handle(reading)

    class NeverResets(_Sustained):  # a cool reading does not start the count again
        def handle(self, reading: SensorReading) -> TemperatureAlert | None:
            if reading.celsius <= 75:
                return None
            return super().handle(reading)

    class NamesS1(_Sustained):  # every alert for sensor s1
        def handle(self, reading: SensorReading) -> TemperatureAlert | None:
            alert = super().handle(reading)
            return alert and alert.revised(sensor_id="s1")

    class NoTemperature(_Sustained):  # the alert does not carry the reading's temperature
        def handle(self, reading: SensorReading) -> TemperatureAlert | None:
            alert = super().handle(reading)
            return alert and alert.revised(celsius=0.0)

    wrong_sensor = check_sustained_rule(NamesS1)
    assert not wrong_sensor and "says s1 at 83 °C, expected s2" in wrong_sensor.message
    no_heat = check_sustained_rule(NoTemperature)
    assert not no_heat and "says s1 at 0 °C, expected s1 at 80 °C" in no_heat.message
    assert "six hot in a row" in check_sustained_rule(EveryThird).message
    assert "exactly 75 cools it down" in check_sustained_rule(SeventyFiveIsNeither).message
    assert not check_sustained_rule(NeverResets)


async def test_the_auditor_check() -> None:
    async def audit(broker: Any, topic: str) -> list[str]:
        types = []
        async with Consumer(broker, "auditor", topic, start="earliest") as consumer:
            async for event in consumer.events():
                types.append(event.event_type)
        return types

    async def reuses_a_group(broker: Any, topic: str) -> list[str]:
        types = []
        async with Consumer(broker, "bookkeeping", topic, start="earliest") as consumer:
            async for event in consumer.events():
                types.append(event.event_type)
        return types

    async def nothing(broker: Any, topic: str) -> list[str]:
        return []

    def auditing(
        start: Literal["earliest", "latest"] = "earliest",
        field: str = "event_type",
        stop_after: int = 0,
    ) -> Callable[[Any, str], Awaitable[list[object]]]:
        async def audit(broker: Any, topic: str) -> list[object]:
            noted: list[object] = []
            async with Consumer(broker, "auditor", topic, start=start) as consumer:
                async for event in consumer.events():
                    noted.append(getattr(event, field))
                    if len(noted) == stop_after:
                        break
            return noted

        return audit

    async def without_a_group(broker: Any, topic: str) -> list[str]:
        records = await broker.read(topic, 0)
        return [decode_message(r.value, r.headers).event_type for r in records]

    async def latest_then_the_explorer(broker: Any, topic: str) -> list[str]:
        async with Consumer(broker, "auditor", topic, start="latest") as consumer:
            async for _ in consumer.events():
                pass
        return [e.event_type for e in await events(broker, topic)]

    async def distinct_types(broker: Any, topic: str) -> list[str]:
        return sorted(set(await audit(broker, topic)))

    async def forgets_to_return(broker: Any, topic: str) -> None:
        await audit(broker, topic)

    passed = await check_auditor(audit)  # the notebook's solution
    assert passed and "read all 3 events itself" in passed.message, passed.message
    wrong = {
        "reuses a group that read everything": (reuses_a_group, "no consumer group of its own"),
        "does nothing": (nothing, "audit returned []"),
        "starts at the end": (auditing(start="latest"), "its new group read nothing"),
        "notes the payment ids": (auditing(field="payment_id"), "returned ['p1', 'p2', 'p3']"),
        "stops after the first": (auditing(stop_after=1), "returned ['PaymentSuccessful'],"),
        "only the distinct types": (distinct_types, "expected ['PaymentSuccessful', 'Payment"),
        "reads without a group": (without_a_group, "no consumer group of the auditor's own"),
        "returns nothing": (forgets_to_return, "audit returned None, not a list"),
        "a group at the end, types from the explorer": (
            latest_then_the_explorer,
            "group 'auditor' read 0 of the 3 events itself",
        ),
    }
    for idea, (answer, why) in wrong.items():
        verdict = await check_auditor(answer)
        assert not verdict.passed and why in verdict.message, (idea, verdict.message)
    assert "start='earliest'" in (await check_auditor(auditing(start="latest"))).message
    assert "'bookkeeping'" in (await check_auditor(reuses_a_group)).message
