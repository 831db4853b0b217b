"""Events as small, immutable, validated values (lesson 06).

An event is an envelope (id, type, source, time, schema version, optional subject, and the
correlation and causation ids that tie a chain of events together) around the data of one thing
that happened. Any problem becomes an `InvalidEvent` that names the field and the fix. An event
is never changed: `revised` and `follow_up` make new ones that say which event caused them.
`eda_lib.codecs` turns events into CloudEvents 1.0 messages and back.

An event type can have several schema versions, each a class with the same `event_type` and its
own `schema_version` (a subclass that only raises `schema_version` is the next version of its
parent's type). `@upcaster` registers how one version's data becomes the next's;
`eda_lib.reading` says how readers of each version read the others, and `eda_lib.compatibility`
which changes are safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, TypeVar, cast
from uuid import UUID, uuid5

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

if TYPE_CHECKING:  # what type(BaseModel) is; named here only for the type checker
    from pydantic._internal._model_construction import ModelMetaclass
else:
    ModelMetaclass = type(BaseModel)

from eda_lib import clock

ENVELOPE_FIELDS = ("id", "source", "time", "subject", "correlation_id", "causation_id")
_LINEAGE = ("id", "correlation_id", "causation_id")  # set by revised/follow_up, never by hand

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
    "unknown_shape",
    "tombstone",
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

_REGISTRY: dict[str, dict[int, type[Event]]] = {}  # event type -> schema version -> class
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of one schema version of an event type into the data of the next version."""
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class _EventMeta(ModelMetaclass):
    # Turns pydantic's ValidationError into InvalidEvent when an event is built in code. Done here
    # rather than in an `__init__` of Event's: pydantic runs a class's own `__init__` inside
    # every validation, so each event read would pay for it (about 2.5 µs, nearly doubling the
    # validation; benchmarks/codec.py reports `read_us` against `custom_init_read_us`).
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as error:
            raise _from_validation(cast("type[Event]", cls), error) from None


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
    in_registry: ClassVar[bool] = True
    """False for events read by a codec that picks the class itself (the Go course's wire
    format, `eda_lib.course`): their type names may repeat a registered one."""

    id: UUID = Field(default_factory=clock.new_id)
    source: NonEmptyStr = "/eda-notebooks"  # each class's `default_source`, filled in below
    time: UtcDatetime = Field(default_factory=clock.now)
    subject: NonEmptyStr | None = None
    correlation_id: UUID | None = None
    """The id of the first event of the chain this one belongs to (None: this one starts it)."""
    causation_id: UUID | None = None
    """The id of the event that caused this one (None: a command or a person did)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            inherited = getattr(cls, "event_type", None)
            # A subclass that only raises schema_version is the next version of its parent's
            # type; any other subclass is a type of its own.
            new_version = "schema_version" in cls.__dict__ and inherited in _REGISTRY
            cls.event_type = inherited if new_version and inherited else cls.__name__
        if cls.__name__.startswith("_") or not cls.in_registry:
            return  # a private base that only shares fields, or a class outside the registry
        if type(cls.schema_version) is not int or cls.schema_version < 1:
            raise TypeError(
                f"{cls.__name__}.schema_version is {cls.schema_version!r}; versions are whole "
                "numbers from 1, one more for each change of the data's shape"
            )
        versions = _REGISTRY.setdefault(cls.event_type, {})
        registered = versions.get(cls.schema_version)
        # Re-running (or editing and re-running) a notebook cell redefines a class in the same
        # module: the new one replaces the old. Another module claiming the type is a clash.
        if registered is not None and registered.__module__ != cls.__module__:
            raise TypeError(
                f"event type '{cls.event_type}' version {cls.schema_version} is already "
                f"{registered.__qualname__}; give the new class a different name, set "
                "event_type explicitly, or, for a new version of the same event, raise "
                "schema_version"
            )
        versions[cls.schema_version] = cls

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
            "Make a new event instead: a correction as an event type of its own that names "
            f"this one, or event.revised({name}=...) for one more fact of this type"
        )

    @property
    def correlation(self) -> UUID:
        """The chain this event belongs to: its correlation id, or its own id if it starts one."""
        return self.correlation_id or self.id

    def follow_up(self, event_class: type[E], /, *, stable_id: bool = False, **fields: Any) -> E:
        """A new event of `event_class` that this one caused: validated, with a new id and time,
        this event's correlation id, and this event's id as its causation id.

        `stable_id=True` derives the id from this event's id and the new event's type instead,
        so a consumer that handles this event again (after a crash before its commit) makes the
        very same event, and an idempotent consumer downstream skips the repeat. Then a cause
        has at most one follow-up of each type."""
        _refuse_lineage(fields, "follow_up")
        if stable_id:
            fields["id"] = uuid5(self.id, event_class.event_type)
        return event_class(**fields, correlation_id=self.correlation, causation_id=self.id)

    def revised(self, **changes: Any) -> Self:
        """A corrected or updated copy of this event, as a new event: every field validated
        again, a new id and time, caused by this one. (A subject that came from the key field
        follows that field.)"""
        _refuse_lineage(changes, "revised")
        fields = self.model_dump(exclude={*_LINEAGE, "time"})
        if self.subject_field and fields.get("subject") == fields.get(self.subject_field):
            del fields["subject"]  # derived from the key field: derive it again
        return type(self)(
            **{**fields, **changes}, correlation_id=self.correlation, causation_id=self.id
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy of the same event (same id). Changing fields this way is refused: it would
        skip validation and keep the id; `revised` makes a valid new event."""
        if update:
            raise TypeError(
                f"{type(self).__name__}.model_copy(update=...) would keep the id and skip "
                "validation. Fix: use event.revised(field=value) for a corrected event, or "
                "event.follow_up(OtherEvent, ...) for one it caused"
            )
        return super().model_copy(deep=deep)

    @property
    def key(self) -> str | None:
        """The message key a producer uses: the subject, so one entity's events stay in order."""
        return self.subject

    def data(self) -> dict[str, Any]:
        """The event's data fields as JSON-ready values."""
        return self.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))


E = TypeVar("E", bound=Event)


def _refuse_lineage(fields: Mapping[str, Any], method: str) -> None:
    given = sorted(set(fields) & set(_LINEAGE))
    if given:
        raise TypeError(
            f"{method}() sets {', '.join(given)} itself: a derived event gets a new id and "
            "carries its cause's correlation id. Fix: leave them out"
        )


def registered_types() -> dict[str, type[Event]]:
    """Every known event type, by its CloudEvents `type`: the class of its newest version."""
    return {name: versions[max(versions)] for name, versions in _REGISTRY.items()}


def schema_versions(event_type: str) -> dict[int, type[Event]]:
    """The classes of every known version of `event_type`, by version (empty if none)."""
    return dict(sorted(_REGISTRY.get(event_type, {}).items()))


def is_registered(event_type: str) -> bool:
    """Whether a class for `event_type` is defined, so that events of it can be read back."""
    return bool(_REGISTRY.get(event_type))


def event_class(event_type: str) -> type[Event]:
    """The class of the newest known version of `event_type`."""
    versions = _REGISTRY.get(event_type)
    if not versions:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidEvent(
            "unknown_type",
            f"no event class is registered for type '{event_type}' (known: {known})",
            field="type",
            fix="define a subclass of eda_lib.Event with that name, or correct the type",
        )
    return versions[max(versions)]


def upcaster(event: str | type[Event], *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the decorated function as the way from version `from_version` of an event
    type's data to the next version: it gets the old data (a dict of JSON values) and returns
    the new. Readers of a newer version apply every step in turn (v1 -> v2 -> v3). Only a
    step that changes the data's shape needs one (a rename, a computed field); a new field
    with a default needs none.

        @upcaster("PaymentSuccessful", from_version=1)
        def amount_renamed(data):
            data["amount_minor"] = data.pop("amount")
            return data
    """
    name = event if isinstance(event, str) else event.event_type
    if type(from_version) is not int or from_version < 1:
        raise TypeError(f"from_version must be a whole number from 1, not {from_version!r}")

    def register(function: Upcaster) -> Upcaster:
        _UPCASTERS[name, from_version] = function  # a re-run notebook cell replaces it
        return function

    return register


def upcaster_for(event_type: str, from_version: int) -> Upcaster | None:
    """The registered step from `from_version` of `event_type` to the next, if there is one."""
    return _UPCASTERS.get((event_type, from_version))


_FIXES = {
    "missing": "give this field a value",
    "extra_forbidden": "remove this field; it is not part of the event's schema",
    "int_type": "send a whole number (no quotes, no decimal point)",
    "string_type": "send a string in double quotes",
    "uuid_parsing": "send a UUID such as '1b4e28ba-2fa1-11d2-883f-0016d3cca427'",
    "uuid_type": "send a UUID string",
    "greater_than": "send a positive number of minor units, e.g. 12000 for 120.00",
    "string_too_short": "send a non-empty string",
    "frozen_instance": "events are immutable: make a new one (a correction type, or event.revised)",
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
