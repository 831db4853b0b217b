"""The course codec: the four shapes, their keys and headers, Go's times, and what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from eda_lib.course import (
    CourseJson,
    OrderApproved,
    OrderCreated,
    OrderCreatedEvent,
    OrderDeletedEvent,
    OrderStatus,
    OrderUpdatedEvent,
    PaymentUpdatedEvent,
    decode_course,
    encode_course,
)
from eda_lib.domain.orders import OrderCreated as OurOrderCreated
from eda_lib.events import InvalidEvent, event_class

CHAPTER_3 = [  # typed by hand in the course's publisher, with spaces
    b'{"orderId": 11, "status": "success"}',
    b'{"orderId": 45, "status": "failed"}',
    b'{"orderId": 67, "status": "pending"}',
    b'{"orderId": 90, "status": "initial"}',
]
CREATED = (
    b'{"event_id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","event_type":"OrderCreated",'
    b'"timestamp":"2024-09-16T12:15:30.123456789+02:00","order_id":"o-1",'
    b'"customer_id":"cust-1234","amount":150}'
)


def test_chapter_3s_hand_written_strings_read_and_written_equal_as_json() -> None:
    for text in CHAPTER_3:
        event = decode_course(text)
        assert isinstance(event, OrderStatus)
        value, headers = encode_course(event)
        assert json.loads(value) == json.loads(text) and headers == ()
        assert event.key is None


def test_an_order_event_keeps_gos_time_and_number() -> None:
    event = decode_course(CREATED, (("eventType", b"OrderCreated"),))
    assert isinstance(event, OrderCreated) and event.amount == 150.0
    assert event.timestamp == "2024-09-16T12:15:30.123456789+02:00"  # nanoseconds, offset kept
    assert event.time == datetime(2024, 9, 16, 10, 15, 30, 123456, tzinfo=UTC)
    assert str(event.id) == "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
    assert encode_course(event) == (CREATED, (("eventType", b"OrderCreated"),))
    assert event.key == "o-1"


def test_keys_follow_the_course() -> None:
    assert OrderApproved(order_id="o-1").key == "o-1"  # 4.1: the order id
    assert OrderUpdatedEvent(order_id="o-1", description="x").key == "OrderUpdated"  # 4.2: type
    payment = PaymentUpdatedEvent(
        payment_id="p",
        order_id="o",
        occurred_at="2024-09-16T13:15:30Z",
        amount=12000,
        status="success",
        currency="usd",
    )
    assert payment.key is None and OrderStatus(order_id=1, status="x").key is None


def test_the_four_shapes_round_trip_through_the_codec() -> None:
    codec = CourseJson()
    events = [
        OrderStatus(order_id=11, status="success"),
        OrderCreated(order_id="o", customer_id="c", amount=99.5),
        OrderCreatedEvent(order_id="o", description="New Item"),
        OrderUpdatedEvent(order_id="o", description="Updated Item"),
        OrderDeletedEvent(order_id="o"),
        PaymentUpdatedEvent(
            payment_id="p",
            order_id="o",
            occurred_at="2024-09-16T13:15:30Z",
            amount=12000,
            status="success",
            currency="usd",
        ),
    ]
    for event in events:
        back = codec.decode(*codec.encode(event))
        assert type(back) is type(event)
        assert back.data() == event.data() and back.id == event.id


def test_an_id_less_message_gets_the_same_id_for_the_same_content() -> None:
    assert decode_course(CHAPTER_3[0]).id == decode_course(CHAPTER_3[0]).id
    assert decode_course(CHAPTER_3[0]).id != decode_course(CHAPTER_3[1]).id


def test_course_classes_stay_out_of_the_cloudevents_registry() -> None:
    assert event_class("OrderCreated") is OurOrderCreated


@pytest.mark.parametrize(
    ("value", "headers", "problem", "names"),
    [
        (b'{"id": 1}', (), "unknown_shape", "none of the course's message shapes"),
        (b'{"EventType": "OrderShipped", "OrderID": "o"}', (), "unknown_shape", "OrderShipped"),
        (b'{"orderId": 11}', (), "invalid_field", "'status'"),
        (b'{"orderId": 11, "status": "ok", "note": 1}', (), "invalid_field", "'note'"),
        (b'{"Metadata": [], "Body": {}}', (), "invalid_field", "'Metadata' must be a JSON object"),
        (b"[1, 2]", (), "not_object", "list"),
        (b"{oops", (), "not_json", "not JSON"),
        (
            b'{"OrderID": "o", "EventType": "OrderDeleted"}',
            (("eventType", b"OrderCreated"),),
            "invalid_field",
            "header says",
        ),
    ],
)
def test_what_does_not_fit_is_refused_saying_what_and_how_to_fix_it(
    value: bytes, headers: tuple[tuple[str, bytes], ...], problem: str, names: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode_course(value, headers)
    assert refused.value.problem == problem
    assert names in str(refused.value) and "Fix:" in str(refused.value)


def test_the_codec_refuses_to_write_our_events() -> None:
    with pytest.raises(TypeError, match="not one of the course's messages"):
        CourseJson().encode(OurOrderCreated(order_id="o", customer_id="c", amount=1))
