"""JSON as Go's `encoding/json` writes it, and times as Go's `time.Time` writes them (lesson 08).

The course's Go programs turn a struct into bytes with `json.Marshal`. To read their messages and
write the same bytes back, we follow its rules, which differ from Python's `json.dumps`:

- fields come in the struct's order, with no spaces: `{"order_id":"o-1","reason":"late"}`
  (chapter 3's strings are typed by hand, with spaces: we write them equal as JSON, not as bytes);
- a `float64` is written as short as it round-trips, with no `.0`: 150.0 is `150`, and very small
  or very large numbers use an exponent (`1e-7`, `1e+21`);
- `<`, `>` and `&` become `\\u003c`, `\\u003e`, `\\u0026` (so JSON is safe inside HTML), as do
  U+2028 and U+2029; any other text is written as UTF-8, not escaped;
- a `time.Time` is RFC 3339 text with up to nine digits of fraction (nanoseconds), trailing
  zeros dropped, and the offset it was made in (`Z` for UTC). Python's `datetime` holds only
  microseconds, so we keep the text itself and read a `datetime` from it when one is needed.

`tests/unit/course/test_go_wire.py` checks these rules against the Go compiler's own output.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

_ESCAPED_BY_GO = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))"
)
INT64 = (-(2**63), 2**63 - 1)
"""The range of Go's `int` on the 64-bit machines the course runs on."""


def read_json(text: str) -> Any:
    """JSON read as Go's `json.Unmarshal` reads its strings: an escape that is not Unicode (a lone
    surrogate such as `\\ud800`) becomes U+FFFD, where Python would keep it."""
    return _unicode(json.loads(text))


def _unicode(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_unicode(k): _unicode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unicode(item) for item in value]
    return value


def go_string(text: str) -> str:
    """A string as `encoding/json` quotes it."""
    text = _LONE_SURROGATE.sub("\ufffd", text)  # Go writes text that is not Unicode as U+FFFD
    quoted = json.dumps(text, ensure_ascii=False)  # the same escapes for quotes and controls
    for char, escape in _ESCAPED_BY_GO.items():
        quoted = quoted.replace(char, escape)
    return quoted


def go_float(number: float) -> str:
    """A `float64` as `encoding/json` writes it: the shortest text that reads back the same."""
    if not math.isfinite(number):
        raise ValueError(f"Go's encoding/json cannot write {number}: JSON has no NaN or infinity")
    if number == 0:
        return "-0" if math.copysign(1.0, number) < 0 else "0"
    if 1e-6 <= abs(number) < 1e21:
        # repr has the shortest digits; Decimal lays them out without an exponent or a ".0"
        return format(Decimal(repr(number)).normalize(), "f")
    mantissa, exponent = repr(number).split("e")  # Python and Go agree on '1.5e-07' here...
    if exponent.startswith("-0"):
        exponent = "-" + exponent[2:]  # ...but Go then shortens e-07 to e-7
    return f"{mantissa}e{exponent}"


def go_json(value: Any) -> bytes:
    """`json.Marshal` of a value built from dicts (fields in struct order), lists, strings, ints,
    floats (Go `float64`), bools and None."""
    return _write(value).encode("utf-8")


def _write(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: in Python, True is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{go_string(k)}:{_write(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_write(item) for item in value) + "]"
    raise TypeError(f"no Go JSON for a {type(value).__name__}; convert it to a plain value first")


def go_time(moment: datetime, nanosecond: int | None = None) -> str:
    """`time.Time`'s JSON text for an aware datetime (and, if given, the nanoseconds within its
    second, which replace its microseconds): RFC 3339, the fraction without trailing zeros, `Z`
    when the offset is zero, else the offset as ±hh:mm."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("the time has no offset; Go's times always have one (use tzinfo=UTC)")
    if nanosecond is None:
        nanosecond = moment.microsecond * 1000
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if nanosecond:
        text += f".{nanosecond:09d}".rstrip("0")
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def canonical_go_time(text: str) -> str:
    """The text Go writes back for a time it read from `text`: `+00:00` becomes `Z`, and trailing
    zeros of the fraction go."""
    return go_time(*parse_go_time(text))


def parse_go_time(text: str) -> tuple[datetime, int]:
    """Read `time.Time`'s JSON text: the moment (to the microsecond, in its own offset) and the
    nanoseconds within its second, which a datetime cannot hold. A ValueError says what is wrong."""
    found = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(
            f"{text!r} is not an RFC 3339 time as Go writes it, such as "
            "'2024-09-16T10:15:30.123456789Z' or '2024-09-16T12:15:30+02:00'"
        )
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    fraction, zone, sign, zone_hours, zone_minutes = found.groups()[6:]
    nanosecond = int((fraction or "0").ljust(9, "0"))
    if zone == "Z":
        tz = UTC
    else:
        if int(zone_hours) > 23 or int(zone_minutes) > 59:
            raise ValueError(f"{text!r} has an offset out of range (at most ±23:59)")
        shift = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
        tz = timezone(-shift if sign == "-" else shift)
    try:
        moment = datetime(year, month, day, hour, minute, second, nanosecond // 1000, tzinfo=tz)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a real time: {error}") from None
    return moment, nanosecond
