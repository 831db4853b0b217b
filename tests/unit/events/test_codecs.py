"""Events on the wire: CloudEvents JSON written and read back, and every problem in what is read
named as an `InvalidEvent`."""

from __future__ import annotations

import json

import pytest

from eda_lib import (
    InvalidEvent,
    OrderCancelled,
    PaymentFailed,
    deserialize,
    reproducible,
    serialize,
)
from eda_lib.codecs import KafkaBinary, StructuredJson
from tests.unit.events.samples import GOOD, payment


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
