"""The course codec writes what Go's `encoding/json` writes, byte for byte: a Go program with the
course's structs reads each message and marshals it again, and our codec must read the same
message and write the same bytes (or refuse it where Go refuses it)."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eda_lib.course import decode_course, encode_course
from eda_lib.events import InvalidEvent
from tests.conftest import go_tool

PROGRAM = Path(__file__).parent / "go_marshal" / "main.go"
TEXT = 'ab Zé中😀<>&"\\/\n\t\b\f\r\x00\x1f\x7f\u2028\u2029\ud800'
FLOATS = (
    150.0,
    0.1,
    1e21,
    9.999e20,
    1e-6,
    9.99e-7,
    1e-7,
    5e-324,
    1.7976931348623157e308,
    -0.0,
    0.0,
    123456789.125,
    -42.5,
    12000.0,
    1e20,
    3.0e-5,
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(TEXT) for _ in range(rng.randrange(0, 10)))


def _float(rng: random.Random) -> float:
    if rng.random() < 0.4:
        return rng.choice(FLOATS)
    return rng.choice((-1, 1)) * 10 ** rng.uniform(-12, 24) * rng.random()


def _time(rng: random.Random) -> str:
    fraction = rng.choice(
        (
            "",
            ".5",
            ".120",
            ".000000001",
            f".{rng.randrange(10**9):09d}",
            f".{rng.randrange(10**6):06d}",
        )
    )
    zone = rng.choice(("Z", "+02:00", "-05:30", "+00:00", "-00:00", "+14:00"))
    return (
        f"{rng.randrange(1970, 2100)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        f"T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        f"{fraction}{zone}"
    )


def _case(rng: random.Random, shape: str) -> dict[str, Any]:
    base = {
        "event_id": _text(rng),
        "event_type": shape,
        "timestamp": _time(rng),
        "order_id": _text(rng),
    }
    if shape == "OrderStatus":
        return {"orderId": rng.randrange(-(2**63), 2**63), "status": _text(rng)}
    if shape == "OrderCreated":
        return {**base, "customer_id": _text(rng), "amount": _float(rng)}
    if shape == "OrderApproved":
        return base
    if shape == "OrderCancelled":
        return {**base, "reason": _text(rng)}
    if shape == "PaymentUpdatedEvent":
        return {
            "Metadata": {"ID": _text(rng), "Timestamp": _time(rng), "EventType": "PaymentUpdated"},
            "Body": {
                "PaymentID": _text(rng),
                "OrderId": _text(rng),
                "OccurredAt": _time(rng),
                "Amount": rng.randrange(-(2**63), 2**63),
                "Status": _text(rng),
                "Currency": _text(rng),
            },
        }
    change = {"OrderID": _text(rng), "EventType": shape.removesuffix("Event")}
    return change if shape == "OrderDeletedEvent" else {**change, "Description": _text(rng)}


SHAPES = (
    "OrderStatus",
    "OrderCreated",
    "OrderApproved",
    "OrderCancelled",
    "OrderCreatedEvent",
    "OrderUpdatedEvent",
    "OrderDeletedEvent",
    "PaymentUpdatedEvent",
)
# Messages Go refuses to read; our codec must refuse them too.
REFUSED = [
    ("OrderStatus", '{"orderId": 1.5, "status": "x"}'),
    ("OrderStatus", '{"orderId": "11", "status": "x"}'),
    ("OrderStatus", '{"orderId": 9223372036854775808, "status": "x"}'),
    (
        "OrderCreated",
        '{"event_id": "e", "event_type": "OrderCreated", "timestamp": '
        '"2024-13-01T00:00:00Z", "order_id": "o", "customer_id": "c", "amount": 1}',
    ),
    (
        "OrderCreated",
        '{"event_id": "e", "event_type": "OrderCreated", "timestamp": '
        '"2024-09-16 10:00:00Z", "order_id": "o", "customer_id": "c", "amount": 1}',
    ),
    (
        "OrderCreated",
        '{"event_id": "e", "event_type": "OrderCreated", "timestamp": '
        '"2024-09-16T10:00:00Z", "order_id": "o", "customer_id": "c", "amount": "150"}',
    ),
    (
        "PaymentUpdatedEvent",
        '{"Metadata": {"ID": "i", "Timestamp": "2024-09-16T10:00:00Z", '
        '"EventType": "PaymentUpdated"}, "Body": {"PaymentID": "p", "OrderId": "o", "OccurredAt": '
        '"2024-09-16T10:00:00Z", "Amount": 120.5, "Status": "s", "Currency": "usd"}}',
    ),
]


@pytest.fixture(scope="module")
def go() -> str:
    return go_tool("go", "comparing the course codec with Go's encoding/json")


def _marshal_in_go(go: str, lines: list[tuple[str, str]]) -> list[str]:
    stdin = "".join(f"{shape}\t{text}\n" for shape, text in lines)
    done = subprocess.run(
        [go, "run", PROGRAM.name],
        input=stdin.encode(),
        capture_output=True,
        cwd=PROGRAM.parent,
        timeout=300,
        check=True,
    )
    return done.stdout.decode().splitlines()


def test_the_codec_writes_what_go_writes(go: str) -> None:
    rng = random.Random(2024)
    cases = [(shape, json.dumps(_case(rng, shape))) for shape in SHAPES for _ in range(60)]
    written_by_go = _marshal_in_go(go, cases)
    assert len(written_by_go) == len(cases)
    for (shape, text), expected in zip(cases, written_by_go, strict=True):
        assert not expected.startswith("error"), f"Go refused {text}: {expected}"
        event = decode_course(text.encode())
        assert type(event).__name__ == shape
        assert encode_course(event)[0].decode() == expected, text


def test_the_codec_refuses_what_go_refuses(go: str) -> None:
    written_by_go = _marshal_in_go(go, REFUSED)
    for (_, text), said in zip(REFUSED, written_by_go, strict=True):
        assert said.startswith("error: "), f"Go read {text}"
        with pytest.raises(InvalidEvent):
            decode_course(text.encode())
