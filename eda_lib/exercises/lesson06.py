"""Self-checking exercises of lesson 06 (events and handlers): an upcaster between two versions of
an event, a new version that is FULL compatible, and the trace context a handler carries from
the record it consumed to the event it publishes."""

from __future__ import annotations

from typing import Annotated, Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import StrictInt, TypeAdapter, ValidationError

from eda_lib.codecs import deserialize, serialize
from eda_lib.compatibility import compatibility
from eda_lib.events import Event, InvalidEvent, NonEmptyStr, upcaster
from eda_lib.exercises.checks import Check, fail
from eda_lib.reading import data_fields
from eda_lib.tracing import parent_of


class TicketBooked(Event):
    """Version 1: a seat as the box office writes it, row number then seat letter ('12A')."""

    ticket_id: NonEmptyStr
    seat: NonEmptyStr


class TicketBookedV2(Event):
    """Version 2: the seat split into its row number and its letter."""

    event_type = "TicketBooked"
    schema_version = 2
    ticket_id: NonEmptyStr
    row: StrictInt
    letter: NonEmptyStr


class RoomBooked(Event):
    """Version 1 of a hotel booking, for the compatibility exercise."""

    room_id: str
    nights: int


_SEATS = {"12A": (12, "A"), "3F": (3, "F"), "104C": (104, "C"), "7K": (7, "K")}


def check_seat_upcaster(function: Any) -> Check:
    """Lesson 06, exercise 1: an upcaster from TicketBooked v1 (`seat`: '12A') to v2 (`row`: 12,
    `letter`: 'A'). The check registers it and reads v1 events as v2 with it."""
    if not callable(function):
        return fail(f"expected a function, got {function!r}", "def split_seat(data): ...")
    try:
        sample = function({"ticket_id": "t-0", "seat": "12A"})
    except Exception as error:
        return fail(f"on seat '12A' it raised {type(error).__name__}: {error}", "see the error")
    if not isinstance(sample, dict) or set(sample) != {"ticket_id", "row", "letter"}:
        shown = sorted(sample) if isinstance(sample, dict) else repr(sample)
        return fail(
            f"for seat '12A' it returned {shown}; v2 data has ticket_id, row and letter",
            "return the data with 'row' (an int) and 'letter' (a str) and without 'seat'",
        )
    upcaster(TicketBooked, from_version=1)(function)
    for number, (seat, (row, letter)) in enumerate(_SEATS.items()):
        written = TicketBooked(ticket_id=f"t-{number}", seat=seat)
        try:
            read = deserialize(serialize(written))
        except InvalidEvent as error:
            return fail(
                f"a v1 event with seat '{seat}' could not be read as v2: {error}",
                "return the data with 'row' (an int) and 'letter' (a str) and without 'seat'",
            )
        if not isinstance(read, TicketBookedV2):
            return fail(f"read as {type(read).__name__}", "the check reads the newest version")
        if (read.row, read.letter) != (row, letter):
            return fail(
                f"seat '{seat}' became row {read.row!r}, letter {read.letter!r}; "
                f"expected row {row}, letter '{letter}'",
                "the letter is the last character, the row the digits before it: "
                "int(seat[:-1]), seat[-1]",
            )
        if read.ticket_id != written.ticket_id or read.id != written.id:
            return fail("the ticket id or the event id changed", "change only the seat fields")
    return Check(
        True,
        f"all {len(_SEATS)} v1 tickets read as v2, ids kept; old events in the topic need no "
        "rewriting",
    )


def check_full_change(new_version: Any) -> Check:
    """Lesson 06, exercise 2: a version 2 of RoomBooked that adds a field and is FULL
    compatible, so producers and consumers can be upgraded in any order."""
    if not (isinstance(new_version, type) and issubclass(new_version, Event)):
        return fail(f"expected an event class, got {new_version!r}", "class RoomBookedV2(Event):")
    if new_version.event_type != "RoomBooked" or new_version.schema_version != 2:
        return fail(
            f"it is {new_version.event_type} v{new_version.schema_version}",
            'set event_type = "RoomBooked" and schema_version = 2',
        )
    added = data_fields(new_version) - data_fields(RoomBooked)
    if not added:
        return fail("v2 has no field v1 lacks", "add a field, e.g. guests")
    if "guests" not in added:
        return fail(
            f"v2 adds {', '.join(sorted(added))}, but no field named guests",
            "the change adds the number of guests: name the field guests",
        )
    guests = new_version.model_fields["guests"]
    if guests.annotation is not int:
        return fail(
            f"guests is declared as {getattr(guests.annotation, '__name__', guests.annotation)}",
            "a number of guests is a whole number: guests: int",
        )
    for name in sorted(n for n in added if not new_version.model_fields[n].is_required()):
        field = new_version.model_fields[name]
        default = field.get_default(call_default_factory=True)
        try:
            kind: Any = (
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            TypeAdapter(kind).validate_python(default)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            return fail(
                f"the default of '{name}', {default!r}, is not valid: {problem}",
                f"give '{name}' a default its own type accepts",
            )
    verdict = compatibility(RoomBooked, new_version)
    if verdict.level != "FULL":
        return fail(str(verdict), "a new field needs a default, and keep every v1 field as is")
    default = guests.get_default(call_default_factory=True)
    if type(default) is not int or default < 1:  # bool is an int to Python: refused too
        return fail(
            f"the default of guests is {default!r}: every v1 booking would be read as one for "
            f"{default!r} guests",
            "the default is what a v1 booking meant: a whole number of guests, at least one",
        )
    try:
        old = RoomBooked(room_id="r-1", nights=2)
        # Both ways with the classes named, not the newest registered: an earlier attempt
        # (a version 3, say) stays registered in the learner's kernel.
        new = deserialize(serialize(old), read_as={"RoomBooked": new_version})
        back = deserialize(serialize(new), read_as={"RoomBooked": RoomBooked})
    except InvalidEvent as error:
        return fail(f"the decoder refused it: {error}", "keep room_id and nights as in v1")
    if not isinstance(new, new_version) or not isinstance(back, RoomBooked) or back.nights != 2:
        return fail("a round trip between the versions lost something", "keep the v1 fields")
    fields = ", ".join(sorted(added))
    return Check(
        True,
        f"FULL: v2 adds {fields} (an int, default {default}); old and new readers read both",
    )


# --- exercise 3: carry the trace context ---------------------------------------------------

_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
_UPSTREAM = "00f067aa0ba902b7"  # the span of the producer upstream
_OURS = "b7ad6b7169203331"  # the span of the handler that publishes
_CASES: list[tuple[str, dict[str, str]]] = [
    (
        "a sampled trace with a tracestate",
        {
            "traceparent": f"00-{_TRACE}-{_UPSTREAM}-01",
            "tracestate": "shop=7,rojo=00f067aa0ba902b7",
            "ce_type": "PaymentSuccessful",
        },
    ),
    (
        "a trace upstream chose not to record (flags 00)",
        {
            "traceparent": f"00-a3ce929d0e0e47364bf92f3577b34da6-{_UPSTREAM}-00",
        },
    ),
    ("a record with no traceparent", {"ce_type": "PaymentSuccessful"}),
    ("a malformed traceparent", {"traceparent": f"00-{_TRACE[:20]}-{_UPSTREAM}-01"}),
    ("an all-zero trace id", {"traceparent": f"00-{'0' * 32}-{_UPSTREAM}-01"}),
    ("an all-zero parent id", {"traceparent": f"00-{_TRACE}-{'0' * 16}-01"}),
    ("a traceparent with more after the flags", {"traceparent": f"00-{_TRACE}-{_UPSTREAM}-01-x"}),
    ("a trace id that is not hex", {"traceparent": f"00-{_TRACE[:28]}wxyz-{_UPSTREAM}-01"}),
    ("a traceparent in capitals", {"traceparent": f"00-{_TRACE.upper()}-{_UPSTREAM}-01"}),
    ("version ff, which W3C forbids", {"traceparent": f"ff-{_TRACE}-{_UPSTREAM}-01"}),
]
# Every record is one on which this lesson's rule (version 00 only, lowercase hex, nothing around
# it) and OpenTelemetry's propagator agree. They differ on a higher version (01 to fe), which W3C
# asks a receiver to continue and OpenTelemetry does, on spaces around the header, and on a
# tracestate OpenTelemetry cannot parse (it drops it): none of those is here.


def _expected(consumed: dict[str, str], span_id: str) -> dict[str, str]:
    """What OpenTelemetry's own propagator writes for a child of the consumed context."""
    parent = parent_of(tuple((k, v.encode()) for k, v in consumed.items()))
    if parent is None:
        return {}
    child = trace.SpanContext(
        parent.trace_id, int(span_id, 16), False, parent.trace_flags, parent.trace_state
    )
    carried: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(
        carried, context=trace.set_span_in_context(trace.NonRecordingSpan(child))
    )
    return carried


def _why(case: str, got: dict[str, str], wanted: dict[str, str], consumed: dict[str, str]) -> Check:
    """The refusal for one case: what is wrong with `got`, and how to fix it."""
    sent = got.get("traceparent", "")
    came = consumed.get("traceparent", "")
    if not wanted:
        return fail(
            f"for {case} ({came or 'none'}) it returned {got}: a traceparent a receiver cannot "
            "trust was passed on",
            "check the whole header's form (00, then 32, 16 and 2 lowercase hex digits, nothing "
            "more), and that neither the trace id nor the parent id is all zeros; if it does not "
            "hold, carry nothing (return {}): the handler's span starts a new trace",
        )
    if not sent:
        return fail(
            f"for {case} it carried no traceparent: the event's consumer would start a new "
            "trace, and the trace splits in two",
            "return a dict with a 'traceparent' built from the consumed one",
        )
    fields = sent.split("-")
    want = wanted["traceparent"].split("-")
    if len(fields) != 4 or fields[0] != "00":
        return fail(f"for {case} it sent {sent!r}", "the form is 00-<trace id>-<span id>-<flags>")
    if fields[1] != want[1]:
        return fail(
            f"for {case} the trace id became {fields[1]}: the published event starts another "
            "trace, and the story splits in two",
            "keep the consumed trace id as it is",
        )
    if fields[2] == _UPSTREAM:
        return fail(
            f"for {case} the parent is still {_UPSTREAM}, the producer's span upstream: the "
            "tree skips the handler that published the event",
            "the parent of what a handler publishes is the handler's own span: span_id",
        )
    if fields[2] != want[2]:
        return fail(f"for {case} the parent span is {fields[2]}", "put span_id in the third field")
    if fields[3] != want[3]:
        return fail(
            f"for {case} the flags became {fields[3]}, where {came.split('-')[-1]} came in: "
            "W3C asks each service to respect the sampled flag it received (OpenTelemetry's "
            "default sampler, ParentBased, follows it), so what comes after would be recorded, "
            "or dropped, differently from what came before",
            "keep the consumed flags",
        )
    if got.get("tracestate") != wanted.get("tracestate"):
        return fail(
            f"for {case} the tracestate is {got.get('tracestate')!r}, where "
            f"{consumed.get('tracestate')!r} came in",
            "carry the tracestate on as it came (and add none where none came)",
        )
    return fail(
        f"for {case} it returned {got}; expected only the trace headers",
        "return just traceparent and, if one came, tracestate",
    )


def check_carried_trace(carry: Any) -> Check:
    """Lesson 06, exercise 3: `carry(consumed, span_id)` returns the trace headers for the event
    a handler publishes, from the headers of the record it consumed (a dict of strings) and the
    id of its own span (16 hex digits). Checked against OpenTelemetry's own propagator, on
    records where it and the lesson's rule (version 00 only) agree."""
    if not callable(carry):
        return fail(f"expected a function, got {carry!r}", "def carry(consumed, span_id): ...")
    for case, consumed in _CASES:
        wanted = _expected(consumed, _OURS)
        try:
            got = carry(dict(consumed), _OURS)
        except Exception as error:
            return fail(
                f"for {case} it raised {type(error).__name__}: {error}; one bad header must not "
                "stop a consumer",
                "check the header's form before you take it apart; carry nothing if it is wrong",
            )
        if not isinstance(got, dict):
            return fail(f"for {case} it returned {got!r}", "return a dict of header names to str")
        kinds = {type(v).__name__ for v in [*got, *got.values()] if not isinstance(v, str)}
        if kinds:
            return fail(
                f"for {case} it returned {got!r}: header names and values of type "
                f"{', '.join(sorted(kinds))}",
                "return strings, as the consumed headers are: the producer encodes them",
            )
        if got != wanted:
            return _why(case, got, wanted, consumed)
    carried = sum(1 for _, consumed in _CASES if _expected(consumed, _OURS))
    return Check(
        True,
        f"for each of the {len(_CASES)} records, the headers OpenTelemetry's propagator writes: "
        f"for the {carried} with a valid traceparent, its trace id and flags with span_id as the "
        f"parent (and the tracestate that came); for the other {len(_CASES) - carried}, nothing",
    )
