"""Events on the wire: CloudEvents 1.0 JSON, and the codecs brokers use (lessons 06 and 08).

`serialize` writes CloudEvents structured-mode JSON; `deserialize` reads it back, and any problem
becomes an `InvalidEvent` naming the field and the fix. A `Codec` turns an event into a message
value plus headers: `StructuredJson` (the whole event in the value; what a `Producer` writes
unless given another codec) or `KafkaBinary` (the attributes in `ce_` headers, the data as the
value), as the CloudEvents Kafka binding defines. Both read either mode (`decode_message`).
JSON is written by orjson and read by pydantic's Rust core (which keeps whole numbers of any
size exact); Python's own `json` only explains refusals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from eda_lib.core.broker import Headers
from eda_lib.events import ENVELOPE_FIELDS, Event, InvalidEvent, _from_validation, event_class
from eda_lib.reading import reshape, unreadable

SPEC_VERSION = "1.0"
DEFAULT_MAX_EVENT_BYTES = 1_048_576  # Kafka's default message.max.bytes is about this size.
# CloudEvents attribute names are lower-case letters and digits only; our fields, snake case.
ATTRIBUTE_FIELDS = {
    "id": "id",
    "source": "source",
    "time": "time",
    "subject": "subject",
    "correlationid": "correlation_id",
    "causationid": "causation_id",
}
_OPTIONAL = ("subject", "correlationid", "causationid")
_ENVELOPE = frozenset(ENVELOPE_FIELDS)
_REQUIRED = (
    ("id", '"<uuid>"'),
    ("source", '"/payment-service"'),
    ("type", '"PaymentSuccessful"'),
    ("time", '"2026-01-05T09:00:00Z"'),
)

ReadAs = Mapping[str, type[Event]]
"""The class to read each event type as, when not its newest version (lesson 06)."""


class Codec(Protocol):
    """Turns an event into a message (value and headers) and back."""

    @property
    def name(self) -> str: ...

    def encode(self, event: Event) -> tuple[bytes, Headers]: ...

    def decode(self, value: bytes, headers: Headers, *, read_as: ReadAs | None = None) -> Event:
        """The event in a message, as the class `read_as` names for its type (by default, the
        newest known version of it)."""
        ...


def _attributes(event: Event) -> dict[str, Any]:
    """The CloudEvents attributes and data of an event, with Python values (UUIDs, datetimes):
    what `to_json` writes directly."""
    fields = event.__pydantic_serializer__.to_python(event)
    attributes: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": fields.pop("id"),
        "source": fields.pop("source"),
        "type": event.event_type,
        "time": fields.pop("time"),
        "datacontenttype": "application/json",
        "schemaversion": event.schema_version,
    }
    for attribute in _OPTIONAL:
        value = fields.pop(ATTRIBUTE_FIELDS[attribute])
        if value is not None:
            attributes[attribute] = value
    attributes["data"] = fields
    return attributes


def to_cloudevent(event: Event) -> dict[str, Any]:
    """The CloudEvents 1.0 attributes and data of an event, as a JSON-ready mapping."""
    parsed: dict[str, Any] = from_json(serialize(event))
    return parsed


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_UTC_Z)
    except orjson.JSONEncodeError:  # what only pydantic writes: integers over 64 bits, say
        return to_json(value)


def serialize(event: Event) -> bytes:
    """CloudEvents 1.0 structured-mode JSON, UTF-8 encoded."""
    return _dumps(_attributes(event))


def _missing(attribute: str, example: str) -> InvalidEvent:
    return InvalidEvent(
        "missing_attribute",
        f"the CloudEvents attribute '{attribute}' is missing",
        field=attribute,
        fix=f'add "{attribute}": {example}',
    )


def _checked_class(
    attributes: Mapping[str, Any], read_as: ReadAs | None
) -> tuple[type[Event], int]:
    """The class to read the event as, and the schema version it was written in, after checking
    every required attribute."""
    if "specversion" not in attributes:
        raise _missing("specversion", '"1.0"')
    if attributes["specversion"] != SPEC_VERSION:
        raise InvalidEvent(
            "bad_specversion",
            f"specversion is {attributes['specversion']!r}, but only '1.0' is understood",
            field="specversion",
            fix='write "specversion": "1.0" (CloudEvents 1.0)',
        )
    for name, example in _REQUIRED:
        if name not in attributes:
            raise _missing(name, example)
    if not isinstance(attributes["type"], str):
        raise InvalidEvent(
            "bad_attribute",
            "type must be a string",
            field="type",
            fix='write the event type as a string, e.g. "PaymentSuccessful"',
        )
    name = attributes["type"]
    cls = read_as.get(name) if read_as else None
    if cls is None:
        cls = event_class(name)
    content_type = attributes.get("datacontenttype", "application/json")
    if content_type != "application/json" and (
        not isinstance(content_type, str) or not content_type.split(";")[0].strip().endswith("json")
    ):
        raise InvalidEvent(
            "bad_attribute",
            f"datacontenttype is {content_type!r}; eda_lib events carry JSON data",
            field="datacontenttype",
            fix='write "datacontenttype": "application/json"',
        )
    version = attributes.get("schemaversion", 1)
    if type(version) is not int or version < 1:
        raise InvalidEvent(
            "unsupported_schema_version",
            f"{name} schema version {version!r} is not a version number",
            field="schemaversion",
            fix="write schemaversion as a whole number from 1 (the event class's schema_version)",
        )
    return cls, version


def from_cloudevent(attributes: Mapping[str, Any], read_as: ReadAs | None = None) -> Event:
    """Build a typed event from CloudEvents attributes plus `data` (a parsed JSON object): an
    instance of the class `read_as` names for its type, or of the newest known version of it.
    Data of another version is reshaped as `eda_lib.reading` describes."""
    cls, version = _checked_class(attributes, read_as)
    if "data" not in attributes:
        raise _missing("data", "{...the event's fields...}")
    data = attributes["data"]
    if not isinstance(data, dict):
        raise InvalidEvent(
            "invalid_field",
            f"data must be a JSON object, got {type(data).__name__}",
            field="data",
            fix="send the event's fields as a JSON object",
        )
    if not _ENVELOPE.isdisjoint(data):
        name = min(_ENVELOPE.intersection(data), key=ENVELOPE_FIELDS.index)
        raise InvalidEvent(
            "invalid_field",
            f"data repeats envelope attribute '{name}'",
            field=f"data.{name}",
            fix="keep envelope attributes out of data",
        )
    fields = dict(data) if version == cls.schema_version else reshape(cls, data, version)
    for attribute, name in ATTRIBUTE_FIELDS.items():
        if attribute in attributes:
            fields[name] = attributes[attribute]
    try:
        event: Event = cls.__pydantic_validator__.validate_python(fields)
        return event
    except ValidationError as error:
        if version != cls.schema_version:
            raise unreadable(cls, version, error) from None
        raise _from_validation(cls, error) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _explain(text: str, what: str) -> Any:
    """Python's JSON reader on text the fast reader refused: it names the problem precisely
    (and reads what only it accepts, such as lone surrogate escapes or very deep nesting)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidEvent(
            "not_json", "the JSON is nested too deeply to read", fix=f"send {what} as flat JSON"
        ) from None
    except ValueError as error:
        raise InvalidEvent(
            "not_json", f"not JSON: {error}", fix=f"send {what} as one JSON object"
        ) from None


def _json_object(data: bytes, max_bytes: int, what: str) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidEvent(
            "not_bytes",
            f"expected bytes, got {type(data).__name__}",
            fix="pass the raw message value, e.g. text.encode('utf-8')",
        )
    if len(data) > max_bytes:
        raise InvalidEvent(
            "too_large",
            f"the payload is {len(data):,} bytes, over the limit of {max_bytes:,}",
            fix="send a smaller event (store large blobs elsewhere and send a reference), "
            "or raise max_bytes",
        )
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidEvent(
            "not_utf8", f"byte {error.start} is not valid UTF-8", fix="encode the JSON as UTF-8"
        ) from None
    try:
        parsed = from_json(text, allow_inf_nan=False)
    except ValueError:
        parsed = _explain(text, what)
    if not isinstance(parsed, dict):
        raise InvalidEvent(
            "not_object",
            f"the JSON is a {type(parsed).__name__}, not an object",
            fix=f"send {what} as one JSON object",
        )
    return parsed


def deserialize(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES, read_as: ReadAs | None = None
) -> Event:
    """Read CloudEvents structured-mode JSON into a typed event, or raise `InvalidEvent`."""
    attributes = _json_object(data, max_bytes, "the CloudEvents attributes and data")
    return from_cloudevent(attributes, read_as)


class StructuredJson:
    """CloudEvents structured mode: the whole event is the message value, headers say so."""

    name = "cloudevents-structured"
    content_type = b"application/cloudevents+json; charset=UTF-8"

    def __init__(self, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.headers: Headers = (("content-type", self.content_type),)

    def encode(self, event: Event) -> tuple[bytes, Headers]:
        return serialize(event), self.headers

    def decode(self, value: bytes, headers: Headers, *, read_as: ReadAs | None = None) -> Event:
        return decode_message(value, headers, max_bytes=self.max_bytes, read_as=read_as)


class KafkaBinary:
    """CloudEvents binary mode for Kafka: attributes in `ce_` headers, the data as the value."""

    name = "cloudevents-binary"

    def __init__(self, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes

    def encode(self, event: Event) -> tuple[bytes, Headers]:
        attributes = _attributes(event)
        data = attributes.pop("data")
        del attributes["datacontenttype"]
        headers = [(f"ce_{name}", _header(value)) for name, value in attributes.items()]
        headers.append(("content-type", b"application/json"))
        return _dumps(data), tuple(headers)

    def decode(self, value: bytes, headers: Headers, *, read_as: ReadAs | None = None) -> Event:
        return decode_message(value, headers, max_bytes=self.max_bytes, read_as=read_as)


def decode_message(
    value: bytes | None,
    headers: Headers,
    *,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    read_as: ReadAs | None = None,
) -> Event:
    """The event in a message written in either CloudEvents mode, told apart as the Kafka binding
    says: binary mode has a `ce_specversion` header and no `application/cloudevents` content
    type; anything else is read as structured mode. So every codec reads what any other wrote.
    A null value (a tombstone) holds no event: `InvalidEvent` with the problem `tombstone`."""
    if value is None:
        raise tombstone()
    found = {name.lower(): header for name, header in headers}
    content = found.get("content-type")
    content_type = content.decode("latin-1") if isinstance(content, bytes | bytearray) else ""
    if found.get("ce_specversion") is None or content_type.startswith("application/cloudevents"):
        return deserialize(value, max_bytes=max_bytes, read_as=read_as)  # structured mode
    try:
        attributes: dict[str, Any] = {
            name[3:]: header.decode("utf-8")
            for name, header in found.items()
            if name[:3] == "ce_" and header is not None
        }
    except (UnicodeDecodeError, AttributeError):
        attributes = _header_attributes(found)
    version = attributes.get("schemaversion", "")
    if version.isascii() and version.isdecimal():
        attributes["schemaversion"] = int(version)
    attributes["datacontenttype"] = content_type or "application/json"
    attributes["data"] = _json_object(value, max_bytes, "the event's data")
    return from_cloudevent(attributes, read_as)


def tombstone() -> InvalidEvent:
    """What reading a tombstone as an event raises: it deletes its key, it carries no event."""
    return InvalidEvent(
        "tombstone",
        "the value is null: a tombstone, which deletes its key on a compacted topic",
        fix="read a compacted topic as a table (eda_lib.compaction.read_table), or skip it",
    )


def _header_attributes(found: Mapping[str, Any]) -> dict[str, Any]:
    """The `ce_` headers as attributes, header by header: one that is not bytes (Kafka allows a
    header with no value) is absent; one that is not UTF-8 is refused."""
    attributes: dict[str, Any] = {}
    for name, header in found.items():
        if name[:3] == "ce_" and isinstance(header, bytes | bytearray):
            try:
                attributes[name[3:]] = header.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidEvent(
                    "not_utf8",
                    f"header {name} is not UTF-8",
                    field=name[3:],
                    fix="write CloudEvents headers as UTF-8 text",
                ) from None
    return attributes


def _header(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return str(value).encode()
    return _dumps(value)[1:-1]  # a UUID or a datetime, as JSON writes it, without quotes


def written_version(value: bytes | None, headers: Headers) -> int | None:
    """The schema version a message says its event was written in (1 if it does not say),
    or None if the message says nothing readable about it (a tombstone says nothing)."""
    if value is None:
        return None
    for name, header in headers:
        if name.lower() == "ce_schemaversion" and isinstance(header, bytes | bytearray):
            text = bytes(header).decode("ascii", "replace")
            return int(text) if text.isdecimal() else None
    try:
        attributes = from_json(value)
    except ValueError:
        return None
    version = attributes.get("schemaversion", 1) if isinstance(attributes, dict) else None
    return version if type(version) is int else None


if TYPE_CHECKING:  # never run: `make lint`'s type checker fails here if a codec stops matching

    def _both_codecs_implement_the_protocol(
        structured: StructuredJson, binary: KafkaBinary
    ) -> tuple[Codec, Codec]:
        return structured, binary
