"""Lesson 06's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from eda_lib import Event
from eda_lib.exercises.lesson06 import (
    check_carried_trace,
    check_full_change,
    check_seat_upcaster,
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


TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


def _carry(consumed: dict[str, str], span_id: str) -> dict[str, str]:
    found = TRACEPARENT.fullmatch(consumed.get("traceparent", ""))
    if found is None or found[1] == "0" * 32 or found[2] == "0" * 16:
        return {}
    carried = {"traceparent": f"00-{found[1]}-{span_id}-{found[3]}"}
    if "tracestate" in consumed:
        carried["tracestate"] = consumed["tracestate"]
    return carried


def test_the_carried_trace_check() -> None:
    verdict = check_carried_trace(_carry)
    assert verdict and "the headers OpenTelemetry's propagator writes" in verdict.message

    stub = check_carried_trace(lambda consumed, span_id: {})
    assert not stub and "the trace splits in two" in stub.message

    def unchanged(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        return {k: v for k, v in consumed.items() if k in ("traceparent", "tracestate")}

    assert "the producer's span upstream" in check_carried_trace(unchanged).message

    def new_trace(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        return {"traceparent": f"00-{span_id * 2}-{span_id}-01"} if consumed else {}

    assert "starts another trace" in check_carried_trace(new_trace).message

    def no_tracestate(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        return {k: v for k, v in _carry(consumed, span_id).items() if k != "tracestate"}

    assert "the tracestate is None" in check_carried_trace(no_tracestate).message

    def always_sampled(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        carried = _carry(consumed, span_id)
        if carried:
            carried["traceparent"] = carried["traceparent"][:-2] + "01"
        return carried

    assert "the flags became 01" in check_carried_trace(always_sampled).message

    def trusting(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        version, trace_id, _, flags = consumed["traceparent"].split("-")
        return {"traceparent": f"{version}-{trace_id}-{span_id}-{flags}", **_state(consumed)}

    crashed = check_carried_trace(trusting)  # KeyError on the record without a traceparent
    assert not crashed and "one bad header must not stop a consumer" in crashed.message

    def unchecked(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        if "traceparent" not in consumed:
            return {}
        _, trace_id, _, flags = consumed["traceparent"].split("-")
        return {"traceparent": f"00-{trace_id}-{span_id}-{flags}", **_state(consumed)}

    passed_on = check_carried_trace(unchecked)
    assert not passed_on and "a receiver cannot trust was passed on" in passed_on.message
    assert not check_carried_trace("carry")


def _carry_with(
    pattern: re.Pattern[str], *, whole: bool = True, zero_parent: bool = True, echo: bool = False
) -> Callable[[dict[str, str], str], dict[str, str]]:
    """The solution with one of its checks changed: the wrong answers below."""

    def carry(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        header = consumed.get("traceparent", "")
        found = pattern.fullmatch(header) if whole else pattern.match(header)
        if found is None or found[2] == "0" * 32 or (zero_parent and found[3] == "0" * 16):
            return {}
        version = found[1] if echo else "00"
        return {"traceparent": f"{version}-{found[2]}-{span_id}-{found[4]}", **_state(consumed)}

    return carry


FORM = r"(00)-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"
CANNOT_TRUST = "a receiver cannot trust was passed on"


@pytest.mark.parametrize(
    ("carry", "record"),
    [
        (_carry_with(re.compile(FORM)), None),  # the solution, written this way: accepted
        (_carry_with(re.compile(FORM), zero_parent=False), "an all-zero parent id"),
        (_carry_with(re.compile(FORM), whole=False), "more after the flags"),
        (_carry_with(re.compile(FORM, re.I)), "in capitals"),
        (_carry_with(re.compile(FORM.replace("(00)", "([0-9a-f]{2})")), echo=True), "version ff"),
        (_carry_with(re.compile(FORM.replace("(00)", "([0-9a-f]{2})"))), "version ff"),
    ],
    ids=["solution", "zero-parent", "match", "ignorecase", "echoed-version", "any-version"],
)
def test_the_carried_trace_check_refuses_a_loose_form(
    carry: Callable[[dict[str, str], str], dict[str, str]], record: str | None
) -> None:
    verdict = check_carried_trace(carry)
    if record is None:
        assert verdict
    else:
        assert not verdict and record in verdict.message and CANNOT_TRUST in verdict.message


def test_the_carried_trace_check_refuses_lengths_without_hex() -> None:
    def by_lengths(consumed: dict[str, str], span_id: str) -> dict[str, str]:
        fields = consumed.get("traceparent", "").split("-")
        if [len(f) for f in fields] != [2, 32, 16, 2] or fields[0] != "00":
            return {}
        if fields[1] == "0" * 32 or fields[2] == "0" * 16:
            return {}
        return {"traceparent": f"00-{fields[1]}-{span_id}-{fields[3]}", **_state(consumed)}

    verdict = check_carried_trace(by_lengths)
    assert not verdict and "not hex" in verdict.message and CANNOT_TRUST in verdict.message


def test_the_carried_trace_check_refuses_bytes_with_a_message() -> None:
    def as_bytes(consumed: dict[str, str], span_id: str) -> dict[str, bytes]:
        return {k: v.encode() for k, v in _carry(consumed, span_id).items()}

    verdict = check_carried_trace(as_bytes)
    assert not verdict and "of type bytes" in verdict.message
    assert "return strings" in verdict.message


def _state(consumed: dict[str, str]) -> dict[str, str]:
    return {"tracestate": consumed["tracestate"]} if "tracestate" in consumed else {}
