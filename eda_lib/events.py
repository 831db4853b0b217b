"""Events as small, immutable, validated values, and their CloudEvents 1.0 JSON form (lesson 06).

An event is an envelope (id, type, source, time, schema version, optional subject) around the
data of one thing that happened. `serialize` writes CloudEvents structured-mode JSON; `deserialize`
reads it back, and any problem becomes an `InvalidEvent` that names the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from eda_lib import clock

SPEC_VERSION = "1.0"
DEFAULT_MAX_EVENT_BYTES = 1_048_576  # Kafka's default message.max.bytes is about this size.
ENVELOPE_FIELDS = ("id", "source", "time", "subject")

Problem = Literal[
    "not_bytes",
    "too_large",
    "not_utf8",
    "not_json",
    "not_object",
    "bad_specversion",
    "missing_attribute",
    "bad_attribute",
    "unknown_type",
    "unsupported_schema_version",
    "invalid_field",
]


class InvalidEvent(ValueError):
    """An event that cannot be built or read. `problem` is a stable code for dead-letter reasons,
    `field` the attribute or data field at fault (if one is), `fix` what to do about it."""

    def __init__(self, problem: Problem, detail: str, *, fix: str, field: str | None = None):
        self.problem = problem
        self.field = field
        self.detail = detail
        self.fix = fix
        where = f"field '{field}': " if field else ""
        super().__init__(f"{where}{detail}. Fix: {fix}")


def _utc(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"'{value}' is not an RFC 3339 time such as '2026-01-05T09:00:00Z'"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(f"expected a datetime or an RFC 3339 string, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("time has no timezone; use an aware datetime, e.g. tzinfo=UTC")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. year 1 at +01:00 has no UTC equivalent
        raise ValueError(f"{value.isoformat()} is out of range once converted to UTC") from None


def _currency(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"currency must be a string, got {type(value).__name__}")
    code = value.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(
            f"currency must be a three-letter ISO 4217 code such as 'USD', got {value!r}"
        )
    return code


UtcDatetime = Annotated[datetime, BeforeValidator(_utc)]
"""A timezone-aware time, stored in UTC; naive datetimes and numbers are refused."""
NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]
MinorUnits = Annotated[StrictInt, Field(gt=0)]
"""Money as a positive whole number of minor units (cents): 12000 is 120.00."""
CurrencyCode = Annotated[str, BeforeValidator(_currency)]
"""A three-letter currency code, normalised to upper case ('usd' becomes 'USD')."""

_REGISTRY: dict[str, type[Event]] = {}


class _EventMeta(type(BaseModel)):  # type: ignore[misc]
    # Turns pydantic's ValidationError into InvalidEvent when an event is built in code. Done here
    # rather than in __init__, because a custom __init__ would also run (and be wrapped) inside
    # model_validate.
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as error:
            raise _from_validation(cls, error) from None


class Event(BaseModel, metaclass=_EventMeta):
    """Base of every event. Subclasses add data fields; the envelope is shared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    """The CloudEvents `type`; defaults to the class name."""
    schema_version: ClassVar[int] = 1
    """Version of this type's data schema; written as the `schemaversion` extension."""
    default_source: ClassVar[str] = "/eda-notebooks"
    """The `source` of events built without one: the producing service."""
    subject_field: ClassVar[str | None] = None
    """A data field that becomes the `subject` (and so the message key) when none is given."""

    id: UUID = Field(default_factory=clock.new_id)
    source: NonEmptyStr
    time: UtcDatetime = Field(default_factory=clock.now)
    subject: NonEmptyStr | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__
        if cls.__name__.startswith("_"):
            return  # a private base that only shares fields, never sent on its own
        registered = _REGISTRY.get(cls.event_type)
        # Re-running a notebook cell redefines a class: replacing it is fine, a clash is not.
        if registered is not None and registered.__qualname__ != cls.__qualname__:
            raise TypeError(
                f"event type '{cls.event_type}' is already used by {registered.__qualname__}; "
                "give the new class a different name or set event_type explicitly"
            )
        _REGISTRY[cls.event_type] = cls

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = {"source": cls.default_source, **values}
        if values.get("subject") is None and cls.subject_field:
            subject = values.get(cls.subject_field)
            if isinstance(subject, str) and subject:
                values["subject"] = subject
        return values

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"{type(self).__name__} is immutable: an event records a fact that happened. "
            "Build a new event instead of changing this one"
        )

    @property
    def key(self) -> str | None:
        """The message key a producer uses: the subject, so one entity's events stay in order."""
        return self.subject

    def data(self) -> dict[str, Any]:
        """The event's data fields as JSON-ready values."""
        return self.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))


def registered_types() -> dict[str, type[Event]]:
    """Every known event type, by its CloudEvents `type`."""
    return dict(_REGISTRY)


def event_class(event_type: str) -> type[Event]:
    try:
        return _REGISTRY[event_type]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidEvent(
            "unknown_type",
            f"no event class is registered for type '{event_type}' (known: {known})",
            field="type",
            fix="define a subclass of eda_lib.Event with that name, or correct the type",
        ) from None


_FIXES = {
    "missing": "give this field a value",
    "extra_forbidden": "remove this field; it is not part of the event's schema",
    "int_type": "send a whole number (no quotes, no decimal point)",
    "string_type": "send a string in double quotes",
    "uuid_parsing": "send a UUID such as '1b4e28ba-2fa1-11d2-883f-0016d3cca427'",
    "uuid_type": "send a UUID string",
    "greater_than": "send a positive number of minor units, e.g. 12000 for 120.00",
    "string_too_short": "send a non-empty string",
    "frozen_instance": "events are immutable: build a new one with model_copy(update=...)",
}


def _from_validation(cls: type[Event], error: ValidationError) -> InvalidEvent:
    first: ErrorDetails = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"].removeprefix("Value error, ")
    quiet = first["type"] in ("missing", "value_error")  # value errors already quote the input
    got = "" if quiet else f" (got {first['input']!r:.60})"
    more = len(error.errors()) - 1
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    default_fix = (
        f"correct '{field}' as described"
        if first["type"] == "value_error"
        else f"see the type of '{field}' in {cls.__name__}"
    )
    fix = _FIXES.get(first["type"], default_fix)
    return InvalidEvent(
        "invalid_field", f"{cls.__name__}: {message}{got}{tail}", field=field, fix=fix
    )


def to_cloudevent(event: Event) -> dict[str, Any]:
    """The CloudEvents 1.0 attributes and data of an event, as a JSON-ready mapping."""
    attributes: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event.id),
        "source": event.source,
        "type": event.event_type,
        "time": event.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "schemaversion": event.schema_version,
    }
    if event.subject is not None:
        attributes["subject"] = event.subject
    attributes["data"] = event.data()
    return attributes


def serialize(event: Event) -> bytes:
    """CloudEvents 1.0 structured-mode JSON, UTF-8 encoded."""
    return json.dumps(to_cloudevent(event), ensure_ascii=False, separators=(",", ":")).encode()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _missing(attribute: str, example: str) -> InvalidEvent:
    return InvalidEvent(
        "missing_attribute",
        f"the CloudEvents attribute '{attribute}' is missing",
        field=attribute,
        fix=f'add "{attribute}": {example}',
    )


def from_cloudevent(attributes: Mapping[str, Any]) -> Event:
    """Build a typed event from CloudEvents attributes plus `data` (a parsed JSON object)."""
    if "specversion" not in attributes:
        raise _missing("specversion", '"1.0"')
    if attributes["specversion"] != SPEC_VERSION:
        raise InvalidEvent(
            "bad_specversion",
            f"specversion is {attributes['specversion']!r}, but only '1.0' is understood",
            field="specversion",
            fix='write "specversion": "1.0" (CloudEvents 1.0)',
        )
    for name, example in (
        ("id", '"<uuid>"'),
        ("source", '"/payment-service"'),
        ("type", '"PaymentSuccessful"'),
        ("time", '"2026-01-05T09:00:00Z"'),
    ):
        if name not in attributes:
            raise _missing(name, example)
    if not isinstance(attributes["type"], str):
        raise InvalidEvent(
            "bad_attribute",
            "type must be a string",
            field="type",
            fix='write the event type as a string, e.g. "PaymentSuccessful"',
        )
    cls = event_class(attributes["type"])
    content_type = attributes.get("datacontenttype", "application/json")
    if not isinstance(content_type, str) or not content_type.split(";")[0].strip().endswith("json"):
        raise InvalidEvent(
            "bad_attribute",
            f"datacontenttype is {content_type!r}; eda_lib events carry JSON data",
            field="datacontenttype",
            fix='write "datacontenttype": "application/json"',
        )
    version = attributes.get("schemaversion", 1)
    if type(version) is not int or version != cls.schema_version:
        raise InvalidEvent(
            "unsupported_schema_version",
            f"{cls.__name__} schema version {version!r} is not the supported "
            f"version {cls.schema_version}",
            field="schemaversion",
            fix="produce the supported version, or add an upcaster for the old one (lesson 06)",
        )
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
    envelope = {name: attributes[name] for name in ENVELOPE_FIELDS if name in attributes}
    clash = sorted(set(ENVELOPE_FIELDS) & set(data))
    if clash:
        raise InvalidEvent(
            "invalid_field",
            f"data repeats envelope attribute '{clash[0]}'",
            field=f"data.{clash[0]}",
            fix="keep envelope attributes out of data",
        )
    try:
        return cls.model_validate({**envelope, **data})
    except ValidationError as error:
        raise _from_validation(cls, error) from None


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
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidEvent(
            "not_json", "the JSON is nested too deeply to read", fix=f"send {what} as flat JSON"
        ) from None
    except (json.JSONDecodeError, ValueError) as error:
        raise InvalidEvent(
            "not_json", f"not JSON: {error}", fix=f"send {what} as one JSON object"
        ) from None
    if not isinstance(parsed, dict):
        raise InvalidEvent(
            "not_object",
            f"the JSON is a {type(parsed).__name__}, not an object",
            fix=f"send {what} as one JSON object",
        )
    return parsed


def deserialize(data: bytes, *, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> Event:
    """Read CloudEvents structured-mode JSON into a typed event, or raise `InvalidEvent`."""
    return from_cloudevent(_json_object(data, max_bytes, "the CloudEvents attributes and data"))


Headers = tuple[tuple[str, bytes], ...]


class StructuredJson:
    """CloudEvents structured mode: the whole event is the message value, headers say so."""

    name = "cloudevents-structured"
    content_type = b"application/cloudevents+json; charset=UTF-8"

    def __init__(self, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes

    def encode(self, event: Event) -> tuple[bytes, Headers]:
        return serialize(event), (("content-type", self.content_type),)

    def decode(self, value: bytes, headers: Headers) -> Event:
        return deserialize(value, max_bytes=self.max_bytes)


class KafkaBinary:
    """CloudEvents binary mode for Kafka: attributes in `ce_` headers, the data as the value.
    Reads binary and structured mode alike, so topics written by other tools can be consumed."""

    name = "cloudevents-binary"

    def __init__(self, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes

    def encode(self, event: Event) -> tuple[bytes, Headers]:
        attributes = to_cloudevent(event)
        data = attributes.pop("data")
        attributes.pop("datacontenttype")
        headers = [(f"ce_{name}", str(value).encode()) for name, value in attributes.items()]
        headers.append(("content-type", b"application/json"))
        value = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return value, tuple(headers)

    def decode(self, value: bytes, headers: Headers) -> Event:
        # Kafka allows a header without a value; treat it as absent.
        found = {name.lower(): raw for name, raw in headers if isinstance(raw, bytes | bytearray)}
        content_type = bytes(found.get("content-type", b"")).decode("latin-1")
        if "ce_specversion" not in found or content_type.startswith("application/cloudevents"):
            return deserialize(value, max_bytes=self.max_bytes)
        attributes: dict[str, Any] = {}
        for name, raw in found.items():
            if name.startswith("ce_"):
                try:
                    attributes[name[3:]] = bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidEvent(
                        "not_utf8",
                        f"header {name} is not UTF-8",
                        field=name[3:],
                        fix="write CloudEvents headers as UTF-8 text",
                    ) from None
        version = attributes.get("schemaversion", "")
        if version.isascii() and version.isdecimal():
            attributes["schemaversion"] = int(version)
        attributes["datacontenttype"] = content_type or "application/json"
        attributes["data"] = _json_object(value, self.max_bytes, "the event's data")
        return from_cloudevent(attributes)
