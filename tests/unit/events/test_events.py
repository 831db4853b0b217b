"""The event model: validation on construction, immutability, ids, and the chain of causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eda_lib import (
    Event,
    InvalidEvent,
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    PaymentSuccessful,
    deserialize,
    reproducible,
    serialize,
)
from eda_lib.domain import PaymentUpdated
from eda_lib.events import _FIXES, registered_types
from tests.unit.events.samples import GOOD, payment


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
    with pytest.raises(AttributeError, match=r"immutable.*correction.*revised\(amount=\.\.\.\)"):
        event.amount = 1  # type: ignore[misc]
    assert event.amount == 12000


def test_order_events_are_keyed_by_order() -> None:
    created = OrderCreated(order_id="o-7", customer_id="c-1", amount=5000)
    cancelled = OrderCancelled(order_id="o-7", reason="out of stock")
    assert created.key == cancelled.key == "o-7"
    assert created.currency == "USD"


def test_reproducible_gives_the_same_ids_twice() -> None:
    with reproducible(seed=3):
        first = [payment().id for _ in range(3)]
    with reproducible(seed=3):
        second = [payment().id for _ in range(3)]
    assert first == second and len(set(first)) == 3
    assert payment().id not in first  # outside, ids are random again


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


def test_model_copy_never_makes_an_invalid_event_or_an_id_twin() -> None:
    paid = payment()
    assert paid.model_copy() == paid  # the same event, as a copy, is fine
    with pytest.raises(TypeError, match=r"event\.revised"):
        paid.model_copy(update={"amount": -5})
    with pytest.raises(AttributeError, match=r"event\.revised\(amount=\.\.\.\)"):
        paid.amount = 1  # type: ignore[misc]


def test_no_error_hint_recommends_model_copy() -> None:
    assert not [fix for fix in _FIXES.values() if "model_copy" in fix]
