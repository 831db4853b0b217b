"""The concept lessons' exercise checks: a right answer passes, and each typical wrong answer
fails with a message that says what was wrong."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from eda_lib import Consumer, Event
from eda_lib.domain import SensorReading, TemperatureAlert
from eda_lib.exercises_concepts import (
    Declined,
    check_auditor,
    check_event_checkout,
    check_full_change,
    check_p99,
    check_seat_upcaster,
    check_sustained_rule,
)


def _split_seat(data: dict[str, Any]) -> dict[str, Any]:
    seat = data.pop("seat")
    data["row"], data["letter"] = int(seat[:-1]), seat[-1]
    return data


def test_the_seat_upcaster_check() -> None:
    assert check_seat_upcaster(_split_seat)
    unchanged = check_seat_upcaster(lambda data: data)
    assert not unchanged and "v2 data has ticket_id, row and letter" in unchanged.message

    def row_as_text(data: dict[str, Any]) -> dict[str, Any]:
        seat = data.pop("seat")
        data["row"], data["letter"] = seat[:-1], seat[-1]
        return data

    assert "could not be read as v2" in check_seat_upcaster(row_as_text).message

    def first_digit_only(data: dict[str, Any]) -> dict[str, Any]:
        seat = data.pop("seat")
        data["row"], data["letter"] = int(seat[0]), seat[-1]
        return data

    wrong = check_seat_upcaster(first_digit_only)
    assert not wrong and "seat '12A' became row 1" in wrong.message
    assert not check_seat_upcaster("split")
    assert check_seat_upcaster(_split_seat)  # the right one is registered again, for later tests


def test_the_full_change_check() -> None:
    class RoomBookedV2(Event):
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: int = 1

    verdict = check_full_change(RoomBookedV2)
    assert verdict and "FULL: v2 adds guests" in verdict.message
    right = RoomBookedV2
    # Each wrong answer below is the learner's class redefined, as re-running a cell does.

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: int

    required = check_full_change(RoomBookedV2)
    assert not required and "'guests' is required in v2 and has no default" in required.message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room: str
        nights: int
        guests: int = 1

    assert "v1 requires 'room_id'" in check_full_change(RoomBookedV2).message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int

    assert "no field v1 lacks" in check_full_change(RoomBookedV2).message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: int = "one"  # type: ignore[assignment]

    assert "the default of 'guests', 'one', is not valid" in check_full_change(RoomBookedV2).message

    class HotelStay(Event):
        room_id: str

    assert 'event_type = "RoomBooked"' in check_full_change(HotelStay).message
    assert not check_full_change(42)

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: int = 1

    assert check_full_change(RoomBookedV2) and right is not RoomBookedV2


async def test_the_event_checkout_check() -> None:
    async def rest(order: str, call: Any, publish: Any) -> str:
        for service in ("payment", "shipping", "email", "analytics"):
            await call(service)
        return "paid"

    async def events(order: str, call: Any, publish: Any) -> str:
        try:
            await call("payment")
        except Declined:
            return "declined"
        await publish(order)
        return "paid"

    async def careless(order: str, call: Any, publish: Any) -> str:
        await call("payment")  # a declined card escapes as an exception
        await publish(order)
        return "paid"

    async def publishes_first(order: str, call: Any, publish: Any) -> str:
        await publish(order)
        try:
            await call("payment")
        except Declined:
            return "declined"
        return "paid"

    async def any_error_is_a_decline(order: str, call: Any, publish: Any) -> str:
        try:
            await call("payment")
        except Exception:
            return "declined"
        await publish(order)
        return "paid"

    assert await check_event_checkout(events)
    outage = await check_event_checkout(any_error_is_a_decline)
    assert not outage and "payment being down is not a declined card" in outage.message
    assert (
        "called ['payment', 'shipping', 'email', 'analytics']"
        in (await check_event_checkout(rest)).message
    )
    assert "catch Declined" in (await check_event_checkout(careless)).message
    assert (
        "with the card declined, checkout published"
        in (await check_event_checkout(publishes_first)).message
    )


def test_the_p99_check() -> None:
    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        rank = (len(ordered) - 1) * 0.99
        low, high = math.floor(rank), math.ceil(rank)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)

    assert check_p99(p99)
    assert "the p99 is 2.98" in check_p99(max).message
    assert "raised ZeroDivisionError" in check_p99(lambda v: 1 / 0).message
    # an independent oracle: the standard library's inclusive quantiles interpolate the same way
    values = [float(v) for v in range(7, 0, -1)]
    assert p99(values) == pytest.approx(statistics.quantiles(values, n=100, method="inclusive")[98])


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


async def test_the_auditor_check() -> None:
    async def audit(broker: Any, topic: str) -> list[str]:
        types = []
        async with Consumer(broker, "auditor", topic) as consumer:
            async for event in consumer.events():
                types.append(event.event_type)
        return types

    async def reuses_a_group(broker: Any, topic: str) -> list[str]:
        types = []
        async with Consumer(broker, "bookkeeping", topic) as consumer:
            async for event in consumer.events():
                types.append(event.event_type)
        return types

    async def nothing(broker: Any, topic: str) -> list[str]:
        return []

    assert await check_auditor(audit)
    assert "audit returned []" in (await check_auditor(reuses_a_group)).message
    assert "audit returned []" in (await check_auditor(nothing)).message
