"""The Go course's wire format as a codec (lesson 08): give it to a `Producer` or `Consumer`
(`codec=CourseJson()`) or to the explorer and the offset strips, and they read and write what the
course's Go programs read and write: plain JSON, no CloudEvents.

Which of the four shapes a message is comes from its fields, as the course's consumers know it
from the topic they read: `orderId` (chapter 3), `event_type` (4.1), `EventType` (4.2),
`Metadata` and `Body` (5.1). Chapters 4.1 and 4.2 also send the type in an `eventType` header,
which must then agree with the value. Anything else is refused with an `InvalidEvent` whose
problem is `unknown_shape`, so a consumer parks it in its dead-letter topic with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eda_lib.codecs import Codec
from eda_lib.core.broker import Headers
from eda_lib.course.events import (
    CourseEvent,
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    OrderCreatedEvent,
    OrderDeletedEvent,
    OrderStatus,
    OrderUpdatedEvent,
    PaymentUpdatedEvent,
)
from eda_lib.course.wire import go_json, read_json
from eda_lib.events import Event, InvalidEvent

HEADER = "eventType"
"""The header chapters 4.1 and 4.2 put the event's type in (the Go consumers dispatch on it)."""
_HEADED = (
    OrderCreated,
    OrderApproved,
    OrderCancelled,
    OrderCreatedEvent,
    OrderUpdatedEvent,
    OrderDeletedEvent,
)
_BY_TYPE: dict[str, dict[str, type[CourseEvent]]] = {
    "event_type": {cls.event_type: cls for cls in (OrderCreated, OrderApproved, OrderCancelled)},
    "EventType": {
        cls.event_type: cls for cls in (OrderCreatedEvent, OrderUpdatedEvent, OrderDeletedEvent)
    },
}
SHAPES = (
    '{"orderId", "status"} (chapter 3), {"event_id", "event_type", "timestamp", ...} (4.1), '
    '{"OrderID", "EventType", ...} (4.2) or {"Metadata", "Body"} (5.1)'
)


def encode_course(event: CourseEvent) -> tuple[bytes, Headers]:
    """The message value and headers a course program sends for `event`."""
    headers: Headers = ((HEADER, event.event_type.encode()),) if isinstance(event, _HEADED) else ()
    return go_json(event.to_go()), headers


def decode_course(value: bytes, headers: Headers = ()) -> CourseEvent:
    """The typed event in a message a course program sent, or `InvalidEvent`."""
    parsed = _json(value)
    cls = _shape(parsed)
    header = next((v for k, v in headers if k == HEADER), None)
    if header is not None and header != cls.event_type.encode():
        raise InvalidEvent(
            "invalid_field",
            f"the {HEADER} header says {header!r} but the value is a {cls.event_type}",
            field=HEADER,
            fix="send the same type in the header and in the JSON",
        )
    return cls.from_go(parsed)


def _json(value: bytes) -> dict[str, Any]:
    try:
        parsed = read_json(bytes(value).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidEvent(
            "not_utf8", f"byte {error.start} is not valid UTF-8", fix="send UTF-8 JSON"
        ) from None
    except ValueError as error:
        raise InvalidEvent("not_json", f"not JSON: {error}", fix="send one JSON object") from None
    if not isinstance(parsed, dict):
        raise InvalidEvent(
            "not_object",
            f"the JSON is a {type(parsed).__name__}, not an object",
            fix="send one JSON object, as json.Marshal of a struct writes",
        )
    return parsed


def _shape(value: dict[str, Any]) -> type[CourseEvent]:
    if "orderId" in value:
        return OrderStatus
    if "Metadata" in value or "Body" in value:
        return PaymentUpdatedEvent
    for field, classes in _BY_TYPE.items():
        if field in value:
            cls = classes.get(value[field]) if isinstance(value[field], str) else None
            if cls is None:
                raise InvalidEvent(
                    "unknown_shape",
                    f"{field} is {value[field]!r}, not one of {', '.join(classes)}",
                    field=field,
                    fix=f"send one of the course's types: {', '.join(classes)}",
                )
            return cls
    raise InvalidEvent(
        "unknown_shape",
        f"a JSON object with fields {', '.join(list(value)[:6]) or 'none'} is none of the "
        "course's message shapes",
        fix=f"send one of {SHAPES}",
    )


class CourseJson:
    """A codec for the course's messages (the `Codec` protocol of `eda_lib.codecs`)."""

    name = "course-json"

    def encode(self, event: Event) -> tuple[bytes, Headers]:
        if not isinstance(event, CourseEvent):
            raise TypeError(
                f"{type(event).__name__} is not one of the course's messages; use a class of "
                "eda_lib.course.events, or the default CloudEvents codec"
            )
        return encode_course(event)

    def decode(self, value: bytes, headers: Headers, *, read_as: Any = None) -> Event:
        """The event in a course message (`read_as` is ignored: each shape has one class)."""
        return decode_course(value, headers)


if TYPE_CHECKING:  # never run: `make lint`'s type checker fails here if the codec stops matching

    def _implements_the_protocol(codec: CourseJson) -> Codec:
        return codec
