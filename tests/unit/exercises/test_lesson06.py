"""Lesson 06's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from typing import Any

from eda_lib import Event
from eda_lib.exercises.lesson06 import check_full_change, check_seat_upcaster


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
    assert verdict and "FULL: v2 adds guests (an int, default 1)" in verdict.message
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

    class RoomBookedV2(Event):  # type: ignore[no-redef]  # a field, but not the one asked for
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        breakfast: bool = False

    assert "no field named guests" in check_full_change(RoomBookedV2).message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: str = "1"

    assert "guests is declared as str" in check_full_change(RoomBookedV2).message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: list[str] = []  # noqa: RUF012

    assert "guests is declared as list" in check_full_change(RoomBookedV2).message

    for default in (False, 0):  # a bool passes int's lax validation; no booking is for 0

        class RoomBookedV2(Event):  # type: ignore[no-redef]
            event_type = "RoomBooked"
            schema_version = 2
            room_id: str
            nights: int
            guests: int = default

        refused = check_full_change(RoomBookedV2)
        assert not refused and f"the default of guests is {default!r}" in refused.message
        assert "at least one" in refused.message

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


def test_a_wrong_version_tried_first_does_not_block_the_right_one() -> None:
    # In a notebook, the wrong attempt stays registered as the newest RoomBooked.
    class RoomBookedV2(Event):
        event_type = "RoomBooked"
        schema_version = 3
        room_id: str
        nights: int
        guests: int = 1

    assert "set event_type" in check_full_change(RoomBookedV2).message

    class RoomBookedV2(Event):  # type: ignore[no-redef]
        event_type = "RoomBooked"
        schema_version = 2
        room_id: str
        nights: int
        guests: int = 1

    assert check_full_change(RoomBookedV2)
