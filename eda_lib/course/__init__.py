"""The Go course's side (lesson 08): its wire format, read and written as its programs do.

`events` has a class for each of the four message shapes the course's Go programs send, `codec`
the `CourseJson` codec that picks among them, and `wire` Go's `encoding/json` and `time.Time`
rules, which differ from Python's."""

from eda_lib.course.codec import CourseJson, decode_course, encode_course
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

__all__ = [
    "CourseEvent",
    "CourseJson",
    "OrderApproved",
    "OrderCancelled",
    "OrderCreated",
    "OrderCreatedEvent",
    "OrderDeletedEvent",
    "OrderStatus",
    "OrderUpdatedEvent",
    "PaymentUpdatedEvent",
    "decode_course",
    "encode_course",
]
