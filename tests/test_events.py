"""The event model: validation on construction, immutability, and the CloudEvents JSON form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from eda_lib import (
    Event,
    InvalidEvent,
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    PaymentFailed,
    PaymentSuccessful,
    deserialize,
    format_money,
    reproducible,
    serialize,
)
from eda_lib.codecs import KafkaBinary, StructuredJson
from eda_lib.domain import PaymentUpdated
from eda_lib.events import _FIXES, registered_types

GOOD = {"payment_id": "pay-1", "order_id": "order-1", "amount": 12000, "currency": "usd"}


def payment(**changes: object) -> PaymentSuccessful:
    return PaymentSuccessful(**{**GOOD, **changes})


def test_a_payment_has_an_envelope_and_normalised_data(repeatable: reproducible) -> None:
    event = payment()
    assert event.currency == "USD"
    assert event.source == "/payment-service"
    assert event.event_type == "PaymentSuccessful"
    assert event.subject == event.key == "order-1"
    assert event.time == repeatable.clock.now() and event.time.tzinfo is UTC
    assert event.id.version == 4
    assert event.money == "120.00 USD"


def test_times_are_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    event = payment(occurred_at=datetime(2026, 3, 1, 10, 0, tzinfo=paris))
    assert event.occurred_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"amount": 0}, "amount", "greater than 0"),
        ({"amount": -5}, "amount", "greater than 0"),
        ({"amount": 12.5}, "amount", "integer"),
        ({"amount": "12000"}, "amount", "integer"),
        ({"amount": True}, "amount", "integer"),
        ({"currency": "US"}, "currency", "three-letter"),
        ({"currency": "US$"}, "currency", "three-letter"),
        ({"currency": 840}, "currency", "string"),
        ({"payment_id": ""}, "payment_id", "at least 1"),
        ({"order_id": None}, "order_id", "string"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at", "timezone"),
        ({"occurred_at": 1767225600}, "occurred_at", "RFC 3339"),
        ({"colour": "red"}, "colour", "not permitted"),
    ],
)
def test_a_bad_field_is_named_with_a_fix(
    changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        payment(**changes)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problem == "invalid_field"
    assert error.field == field
    assert words in str(error)
    assert "Fix:" in str(error) and error.fix


def test_a_missing_field_is_named() -> None:
    with pytest.raises(InvalidEvent, match=r"field 'amount'.*Field required.*give this field"):
        PaymentSuccessful(payment_id="p", order_id="o", currency="EUR")


def test_events_are_immutable() -> None:
    event = payment()
    with pytest.raises(AttributeError, match="immutable"):
        event.amount = 1  # type: ignore[misc]
    assert event.amount == 12000


def test_order_events_are_keyed_by_order() -> None:
    created = OrderCreated(order_id="o-7", customer_id="c-1", amount=5000)
    cancelled = OrderCancelled(order_id="o-7", reason="out of stock")
    assert created.key == cancelled.key == "o-7"
    assert created.currency == "USD"


def test_serialize_writes_cloudevents_structured_json(repeatable: reproducible) -> None:
    event = payment()
    document = json.loads(serialize(event))
    assert document == {
        "specversion": "1.0",
        "id": str(event.id),
        "source": "/payment-service",
        "type": "PaymentSuccessful",
        "time": "2026-01-05T09:00:00Z",
        "datacontenttype": "application/json",
        "schemaversion": 1,
        "subject": "order-1",
        "data": {
            "payment_id": "pay-1",
            "order_id": "order-1",
            "occurred_at": "2026-01-05T09:00:00Z",
            "amount": 12000,
            "currency": "USD",
        },
    }


def test_round_trip_keeps_every_field() -> None:
    for event in (
        payment(),
        PaymentFailed(**GOOD, reason="card_declined"),
        OrderCancelled(order_id="o", reason="fraud"),
    ):
        assert deserialize(serialize(event)) == event


def test_reproducible_gives_the_same_ids_twice() -> None:
    with reproducible(seed=3):
        first = [payment().id for _ in range(3)]
    with reproducible(seed=3):
        second = [payment().id for _ in range(3)]
    assert first == second and len(set(first)) == 3
    assert payment().id not in first  # outside, ids are random again


def _with(document: dict[str, object], **changes: object) -> bytes:
    merged = {**document, **changes}
    return json.dumps({k: v for k, v in merged.items() if v is not ...}).encode()


@pytest.fixture
def document() -> dict[str, object]:
    return json.loads(serialize(payment()))


@pytest.mark.parametrize(
    ("mutate", "problem", "field", "words"),
    [
        (lambda d: b"\xff\xfe{}", "not_utf8", None, "UTF-8"),
        (lambda d: b'{"specversion": "1.0",', "not_json", None, "not JSON"),
        (lambda d: b"[1, 2]", "not_object", None, "list"),
        (lambda d: b'"hello"', "not_object", None, "str"),
        (lambda d: _with(d, specversion=...), "missing_attribute", "specversion", "missing"),
        (lambda d: _with(d, specversion="0.3"), "bad_specversion", "specversion", "'1.0'"),
        (lambda d: _with(d, id=...), "missing_attribute", "id", "missing"),
        (lambda d: _with(d, source=...), "missing_attribute", "source", "missing"),
        (lambda d: _with(d, type=...), "missing_attribute", "type", "missing"),
        (lambda d: _with(d, time=...), "missing_attribute", "time", "missing"),
        (lambda d: _with(d, data=...), "missing_attribute", "data", "missing"),
        (lambda d: _with(d, type="PaymentTeleported"), "unknown_type", "type", "PaymentTeleported"),
        (lambda d: _with(d, type=7), "bad_attribute", "type", "string"),
        (lambda d: _with(d, id="not-a-uuid"), "invalid_field", "id", "UUID"),
        (lambda d: _with(d, time="yesterday"), "invalid_field", "time", "RFC 3339"),
        (
            lambda d: _with(d, datacontenttype="text/xml"),
            "bad_attribute",
            "datacontenttype",
            "JSON",
        ),
        (lambda d: _with(d, schemaversion=0), "unsupported_schema_version", "schemaversion", "0"),
        (lambda d: _with(d, data=[1]), "invalid_field", "data", "object"),
        (
            lambda d: _with(d, data={**d["data"], "amount": "12000"}),
            "invalid_field",
            "amount",
            "integer",
        ),
        (
            lambda d: _with(d, data={**d["data"], "amount": -1}),
            "invalid_field",
            "amount",
            "greater than 0",
        ),
        (lambda d: _with(d, data={**d["data"], "id": "x"}), "invalid_field", "data.id", "envelope"),
        (lambda d: _with(d, data={**d["data"], "amount": float("nan")}), "not_json", None, "NaN"),
    ],
)
def test_deserialize_names_each_problem(
    document: dict[str, object], mutate, problem: str, field: str | None, words: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        deserialize(mutate(document))
    assert caught.value.problem == problem
    assert caught.value.field == field
    assert words in str(caught.value)
    assert caught.value.fix


def test_deserialize_refuses_oversized_payloads_before_parsing() -> None:
    data = serialize(payment())
    assert deserialize(data, max_bytes=len(data)) == deserialize(data)
    with pytest.raises(InvalidEvent, match="over the limit") as caught:
        deserialize(data, max_bytes=len(data) - 1)
    assert caught.value.problem == "too_large"


def test_deserialize_refuses_text() -> None:
    with pytest.raises(InvalidEvent) as caught:
        deserialize(serialize(payment()).decode())  # type: ignore[arg-type]
    assert caught.value.problem == "not_bytes"


def test_a_missing_subject_defaults_to_the_order_id(document: dict[str, object]) -> None:
    assert deserialize(_with(document, subject=...)).subject == "order-1"


def test_a_missing_schemaversion_means_version_1(document: dict[str, object]) -> None:
    assert deserialize(_with(document, schemaversion=...)).schema_version == 1


def test_new_event_types_register_and_clashes_are_refused() -> None:
    class ParcelShipped(Event):
        parcel_id: str

    assert registered_types()["ParcelShipped"] is ParcelShipped
    event = ParcelShipped(parcel_id="x")
    assert deserialize(serialize(event)) == event
    with pytest.raises(TypeError, match="version 1 is already"):

        class Clash(Event):
            __module__ = "another.service"  # a second module claiming the same type
            event_type = "ParcelShipped"

    class ParcelShippedRenamed(Event):  # the same module: an edited, re-run notebook cell
        event_type = "ParcelShipped"
        parcel_id: str

    assert registered_types()["ParcelShipped"] is ParcelShippedRenamed


def test_format_money() -> None:
    assert format_money(12000, "USD") == "120.00 USD"
    assert format_money(5, "EUR") == "0.05 EUR"
    assert format_money(1500, "JPY") == "1,500 JPY"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: _with(d, time="0001-01-01T00:00:00+01:00"), "time"),
        (lambda d: _with(d, time="9999-12-31T23:59:59-01:00"), "time"),
        (
            lambda d: _with(d, data={**d["data"], "occurred_at": "0001-01-01T00:30:00+01:00"}),
            "occurred_at",
        ),
        (lambda d: _with(d, schemaversion=True), "schemaversion"),
        (lambda d: _with(d, schemaversion=1.0), "schemaversion"),
        (lambda d: _with(d, subject=..., data={**d["data"], "subject": "x"}), "data.subject"),
    ],
)
def test_edge_values_are_refused_as_invalid_events(
    document: dict[str, object], mutate, field: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        deserialize(mutate(document))
    assert caught.value.field == field


def test_deeply_nested_json_is_refused_not_crashed_on() -> None:
    with pytest.raises(InvalidEvent) as caught:
        deserialize(b"[" * 200_000)
    assert caught.value.problem == "not_json"


def test_binary_mode_headers_that_cannot_be_read_are_invalid_events() -> None:
    codec = KafkaBinary()
    value, headers = codec.encode(payment())
    assert codec.decode(value, headers) == codec.decode(value, (*headers, ("ce_extra", None)))
    odd_version = tuple((k, "²".encode() if k == "ce_schemaversion" else v) for k, v in headers)
    with pytest.raises(InvalidEvent) as caught:
        codec.decode(value, odd_version)
    assert caught.value.field == "schemaversion"
    no_type = tuple((k, None if k == "ce_type" else v) for k, v in headers)
    with pytest.raises(InvalidEvent) as caught:
        codec.decode(value, no_type)
    assert caught.value.problem == "missing_attribute"
    with pytest.raises(InvalidEvent) as caught:
        codec.decode(b"\xff", headers)
    assert caught.value.problem == "not_utf8"


def test_revised_makes_a_new_valid_event_caused_by_the_old_one() -> None:
    paid = payment()
    refund = PaymentUpdated(**GOOD, status="success").revised(status="refunded")
    assert refund.status == "refunded" and refund.payment_id == "pay-1"
    corrected = paid.revised(amount=9995)
    assert corrected.amount == 9995 and corrected.currency == "USD"
    assert corrected.id != paid.id  # not an id twin: an idempotent consumer applies both
    assert (corrected.causation_id, corrected.correlation_id) == (paid.id, paid.id)
    assert corrected.subject == "order-1"
    moved = paid.revised(order_id="order-2")
    assert moved.subject == moved.key == "order-2"  # a subject taken from the key field follows it
    again = corrected.revised(amount=1)
    assert (again.causation_id, again.correlation_id) == (corrected.id, paid.id)
    with pytest.raises(InvalidEvent) as caught:
        paid.revised(amount=-5)  # every field is validated again
    assert caught.value.field == "amount"
    with pytest.raises(TypeError, match="sets id itself"):
        paid.revised(id=paid.id)


def test_follow_up_carries_the_chain_into_another_type() -> None:
    created = OrderCreated(order_id="o-1", customer_id="c-1", amount=500)
    approved = created.follow_up(OrderApproved, order_id="o-1")
    cancelled = approved.follow_up(OrderCancelled, order_id="o-1", reason="changed mind")
    assert approved.causation_id == created.id and cancelled.causation_id == approved.id
    assert created.correlation == approved.correlation_id == cancelled.correlation_id == created.id
    assert created.correlation_id is None and created.causation_id is None
    with pytest.raises(TypeError, match="correlation_id"):
        created.follow_up(OrderApproved, order_id="o-1", correlation_id=created.id)


@pytest.mark.parametrize("codec", [StructuredJson(), KafkaBinary()], ids=["structured", "binary"])
def test_correlation_and_causation_survive_both_cloudevents_modes(
    codec: StructuredJson | KafkaBinary,
) -> None:
    derived = payment().revised(amount=42)
    value, headers = codec.encode(derived)
    back = codec.decode(value, headers)
    assert back == derived
    assert back.correlation_id == derived.correlation_id
    assert back.causation_id == derived.causation_id
    attributes = json.loads(value) if codec.name == "cloudevents-structured" else dict(headers)
    key = "correlationid" if codec.name == "cloudevents-structured" else "ce_correlationid"
    assert key in attributes  # an extension attribute, as CloudEvents names them


def test_model_copy_never_makes_an_invalid_event_or_an_id_twin() -> None:
    paid = payment()
    assert paid.model_copy() == paid  # the same event, as a copy, is fine
    with pytest.raises(TypeError, match=r"event\.revised"):
        paid.model_copy(update={"amount": -5})
    with pytest.raises(AttributeError, match=r"event\.revised\(amount=\.\.\.\)"):
        paid.amount = 1  # type: ignore[misc]


def test_no_error_hint_recommends_model_copy() -> None:
    assert not [fix for fix in _FIXES.values() if "model_copy" in fix]
