"""The Go course's messages as typed events (lesson 08): the four shapes its programs write.

- chapter 3 (03_02, 03_03), topic `bedaig-topic`: `{"orderId": 11, "status": "success"}`, typed
  by hand; no key, no headers.
- chapter 4.1 (event sourcing), `order-events`: flat objects (`event_id`, `event_type`,
  `timestamp`, `order_id`, ...), keyed by the order id, the type in an `eventType` header.
- chapter 4.2 (CQRS), `orders`: `{"OrderID", "EventType", "Description"}` (no JSON tags), keyed by
  the event type's name, the type in an `eventType` header.
- chapter 5.1 (pub-sub), `payment-update`: `{"Metadata": {...}, "Body": {...}}` (no JSON tags); no
  key, no headers.

Each class is an `eda_lib.Event`, so consumers, handlers, the explorer and the pictures take
them as they take ours. Its fields are the Go struct's fields in Python's spelling; `to_go()`
gives the JSON object in the struct's field order and `from_go()` reads one back, refusing what
does not fit with an `InvalidEvent` that names the field. `eda_lib.course.codec` picks the class.

What our envelope needs and the course's messages lack is made up, and said so: an event with no
id (chapters 3 and 4.2) gets one made from its content, so the same text is the same id; an event
with no time gets the time it was read. Times keep Go's exact text (nanoseconds and the offset):
`timestamp` is that text, and the envelope's `time` is read from it, to the microsecond, in UTC.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import TYPE_CHECKING, Annotated, Any, Self
from uuid import UUID, uuid5

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr, model_validator

from eda_lib import clock
from eda_lib.course.wire import INT64, canonical_go_time, go_time, parse_go_time
from eda_lib.events import Event, InvalidEvent

COURSE_NAMESPACE = UUID("6f1d6a4e-2b1c-5b8e-9a57-0c0c0a5e0001")
"""Where the ids of the course's id-less messages come from (uuid5 of their content)."""


def _rfc3339(text: str) -> str:
    return canonical_go_time(text)  # raises ValueError with the reason


def _float64(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number (Go float64), got {type(value).__name__}")
    return float(value)


def _go_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number (Go int), got {type(value).__name__}")
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"{value} does not fit a Go int (64 bits)")
    return value


GoTime = Annotated[StrictStr, AfterValidator(_rfc3339)]
"""A Go `time.Time` as the RFC 3339 text Go writes for it (nanoseconds and offset kept)."""
Float64 = Annotated[float, BeforeValidator(_float64)]
GoInt = Annotated[int, BeforeValidator(_go_int)]


class CourseEvent(Event):
    """An event in the course's wire format. The course's messages have no envelope: `id` comes
    from the message's id field, or from its content when it has none; `time` from its
    timestamp, or the time it was read."""

    in_registry = False  # two chapters call different shapes OrderCreated

    @model_validator(mode="before")
    @classmethod
    def _fill_envelope(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        if "event_id" in cls.model_fields:  # made here, as the id comes from it
            values.setdefault("event_id", _new_event_id())
        if "timestamp" in cls.model_fields:
            values.setdefault("timestamp", _now())
        if "id" not in values:
            values["id"] = _id_of(cls, values)
        stamp = values.get("timestamp")
        if "time" not in values and isinstance(stamp, str):
            with suppress(ValueError):  # if it is not a time, the field's validator says so
                values["time"] = parse_go_time(stamp)[0]
        return values

    @property
    def key(self) -> str | None:
        """Chapters 3 and 5 send no key (librdkafka's default partitioner then sticks to one
        partition for `sticky.partitioning.linger.ms`, 10 ms, before it moves on)."""
        return None

    if TYPE_CHECKING:  # each shape below defines both; declared here for the type checker

        def to_go(self) -> dict[str, Any]:
            """The JSON object Go's `json.Marshal` writes for this event, in struct order."""

        @classmethod
        def from_go(cls, value: dict[str, Any]) -> Self:
            """The event in a parsed JSON object of this shape."""


def _new_event_id() -> str:
    return str(clock.new_id())  # the course's programs use uuid.New().String()


def _now() -> str:
    return go_time(clock.now())  # the course's programs use time.Now()


def _id_of(cls: type[CourseEvent], values: dict[str, Any]) -> UUID:
    event_id = values.get("event_id")
    if isinstance(event_id, str):
        try:
            return UUID(event_id)
        except ValueError:
            return uuid5(COURSE_NAMESPACE, event_id)
    content = [cls.event_type] + [str(values.get(name)) for name in _data_fields(cls)]
    return uuid5(COURSE_NAMESPACE, json.dumps(content))


def _data_fields(cls: type[Event]) -> list[str]:
    return [name for name in cls.model_fields if name not in Event.model_fields]


def _take(value: dict[str, Any], name: str, cls: type[CourseEvent], where: str = "") -> Any:
    """A field the shape must have; a missing one is refused by name (Go would quietly read a
    zero value)."""
    if name not in value:
        raise InvalidEvent(
            "invalid_field",
            f"{cls.__name__}: the JSON has no field '{where}{name}'",
            field=f"{where}{name}",
            fix=f"send '{where}{name}' as the course's {cls.__name__} does",
        )
    return value[name]


def _only(
    value: dict[str, Any], names: tuple[str, ...], cls: type[CourseEvent], where: str = ""
) -> None:
    extra = [name for name in value if name not in names]
    if extra:
        raise InvalidEvent(
            "invalid_field",
            f"{cls.__name__}: the JSON has '{where}{extra[0]}', which the course's struct lacks",
            field=f"{where}{extra[0]}",
            fix=f"send only {', '.join(names)}",
        )


def _object(value: Any, name: str, cls: type[CourseEvent]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEvent(
            "invalid_field",
            f"{cls.__name__}: '{name}' must be a JSON object, got {type(value).__name__}",
            field=name,
            fix=f"send '{name}' as an object, as the course's struct does",
        )
    return value


# Chapter 3: four hand-written JSON strings, no key, no headers.


class OrderStatus(CourseEvent):
    """Chapter 3's message, `{"orderId": 11, "status": "success"}`: a status an order reached."""

    default_source = "/course/chap3"
    order_id: GoInt
    status: StrictStr

    def to_go(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "status": self.status}

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        _only(value, ("orderId", "status"), cls)
        return cls(order_id=_take(value, "orderId", cls), status=_take(value, "status", cls))


# Chapter 4.1, event sourcing: BaseEvent's fields are embedded, so they come first, flat.


class _OrderHistoryEvent(CourseEvent):
    """BaseEvent (`event_id`, `event_type`, `timestamp`) and the order id; keyed by the order."""

    default_source = "/course/chap4/04_01"
    subject_field = "order_id"
    event_id: StrictStr = Field(default_factory=_new_event_id)
    timestamp: GoTime = Field(default_factory=_now)
    order_id: StrictStr

    @property
    def key(self) -> str | None:
        """The order id: one order's events share a partition."""
        return self.order_id

    def _base(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "timestamp": self.timestamp,
        }

    @classmethod
    def _fields(cls, value: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        _only(value, ("event_id", "event_type", "timestamp", *names), cls)
        found = {name: _take(value, name, cls) for name in ("event_id", "timestamp", *names)}
        if _take(value, "event_type", cls) != cls.event_type:
            raise InvalidEvent(
                "invalid_field",
                f"{cls.__name__}: event_type is {value['event_type']!r}",
                field="event_type",
                fix=f"send event_type {cls.event_type!r} for this shape",
            )
        return found


class OrderCreated(_OrderHistoryEvent):
    """Chapter 4.1: an order was placed. `amount` is a Go float64 (150.0 is written `150`)."""

    customer_id: StrictStr
    amount: Float64

    def to_go(self) -> dict[str, Any]:
        return {
            **self._base(),
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "amount": self.amount,
        }

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        return cls(**cls._fields(value, ("order_id", "customer_id", "amount")))


class OrderApproved(_OrderHistoryEvent):
    """Chapter 4.1: an order was approved."""

    def to_go(self) -> dict[str, Any]:
        return {**self._base(), "order_id": self.order_id}

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        return cls(**cls._fields(value, ("order_id",)))


class OrderCancelled(_OrderHistoryEvent):
    """Chapter 4.1: an order was cancelled, and why."""

    reason: StrictStr

    def to_go(self) -> dict[str, Any]:
        return {**self._base(), "order_id": self.order_id, "reason": self.reason}

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        return cls(**cls._fields(value, ("order_id", "reason")))


# Chapter 4.2, CQRS: structs without JSON tags, so the JSON names are the Go field names.


class _OrderChange(CourseEvent):
    """`OrderID` and `EventType`; keyed by the event type's name, not by the order."""

    default_source = "/course/chap4/04_02"
    subject_field = "order_id"
    order_id: StrictStr

    @property
    def key(self) -> str | None:
        """The type's name: so one order's events can land on different partitions."""
        return self.event_type

    @classmethod
    def _fields(cls, value: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        _only(value, ("OrderID", "EventType", *names), cls)
        if _take(value, "EventType", cls) != cls.event_type:
            raise InvalidEvent(
                "invalid_field",
                f"{cls.__name__}: EventType is {value['EventType']!r}",
                field="EventType",
                fix=f"send EventType {cls.event_type!r} for this shape",
            )
        return {"order_id": _take(value, "OrderID", cls)} | {
            name.lower(): _take(value, name, cls) for name in names
        }


class OrderCreatedEvent(_OrderChange):
    """Chapter 4.2: an order was created with a description."""

    event_type = "OrderCreated"
    description: StrictStr

    def to_go(self) -> dict[str, Any]:
        return {
            "OrderID": self.order_id,
            "EventType": self.event_type,
            "Description": self.description,
        }

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        return cls(**cls._fields(value, ("Description",)))


class OrderUpdatedEvent(OrderCreatedEvent):
    """Chapter 4.2: an order's description changed."""

    event_type = "OrderUpdated"


class OrderDeletedEvent(_OrderChange):
    """Chapter 4.2: an order was deleted (no description)."""

    event_type = "OrderDeleted"

    def to_go(self) -> dict[str, Any]:
        return {"OrderID": self.order_id, "EventType": self.event_type}

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        return cls(**cls._fields(value, ()))


# Chapter 5.1: a Metadata struct and a Body struct, no JSON tags (note OrderId beside PaymentID).


class PaymentUpdatedEvent(CourseEvent):
    """Chapter 5.1: a payment's new status. `amount` is a Go int (12000), `currency` as sent
    ("usd"); `event_id` and `timestamp` are the Metadata's ID and Timestamp."""

    event_type = "PaymentUpdated"
    default_source = "/course/chap5/05_01"
    event_id: StrictStr = Field(default_factory=_new_event_id)
    timestamp: GoTime = Field(default_factory=_now)
    payment_id: StrictStr
    order_id: StrictStr
    occurred_at: GoTime
    amount: GoInt
    status: StrictStr
    currency: StrictStr

    def to_go(self) -> dict[str, Any]:
        return {
            "Metadata": {
                "ID": self.event_id,
                "Timestamp": self.timestamp,
                "EventType": self.event_type,
            },
            "Body": {
                "PaymentID": self.payment_id,
                "OrderId": self.order_id,
                "OccurredAt": self.occurred_at,
                "Amount": self.amount,
                "Status": self.status,
                "Currency": self.currency,
            },
        }

    @classmethod
    def from_go(cls, value: dict[str, Any]) -> Self:
        _only(value, ("Metadata", "Body"), cls)
        meta = _object(_take(value, "Metadata", cls), "Metadata", cls)
        body = _object(_take(value, "Body", cls), "Body", cls)
        _only(meta, ("ID", "Timestamp", "EventType"), cls, "Metadata.")
        names = ("PaymentID", "OrderId", "OccurredAt", "Amount", "Status", "Currency")
        _only(body, names, cls, "Body.")
        if _take(meta, "EventType", cls, "Metadata.") != cls.event_type:
            raise InvalidEvent(
                "invalid_field",
                f"{cls.__name__}: Metadata.EventType is {meta['EventType']!r}",
                field="Metadata.EventType",
                fix=f"send EventType {cls.event_type!r}",
            )
        fields = dict(
            zip(
                ("payment_id", "order_id", "occurred_at", "amount", "status", "currency"),
                (_take(body, name, cls, "Body.") for name in names),
                strict=True,
            )
        )
        return cls(
            event_id=_take(meta, "ID", cls, "Metadata."),
            timestamp=_take(meta, "Timestamp", cls, "Metadata."),
            **fields,
        )
