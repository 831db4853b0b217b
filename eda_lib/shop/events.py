"""The shop's own events (lesson 15): the compensating ones of its saga, and the customer's email.

They carry what the next service needs (a failed shipment names the payment and its amount),
so each service decides from the event in hand and keeps no state of its own to lose.
"""

from __future__ import annotations

from typing import ClassVar

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful, _Payment
from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr


class ShipmentFailed(Event):
    """Shipping could not send a paid order; the payment must be refunded (a compensation)."""

    default_source: ClassVar[str] = "/shipping-service"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    payment_id: NonEmptyStr
    amount: MinorUnits
    currency: CurrencyCode
    reason: NonEmptyStr


class PaymentRefunded(_Payment):
    """The money of a payment went back to the customer; `reason` says why."""

    reason: NonEmptyStr


class CustomerEmailed(Event):
    """The customer was told how their order ended (one email per order)."""

    default_source: ClassVar[str] = "/notification-service"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr
    about: NonEmptyStr


SAGA_STEPS: dict[type[Event], str] = {
    OrderCreated: "placed",
    PaymentSuccessful: "paid",
    PaymentFailed: "declined",
    OrderApproved: "approved",
    OrderShipped: "shipped",
    ShipmentFailed: "shipment failed",
    PaymentRefunded: "refunded",
    OrderCancelled: "cancelled",
    CustomerEmailed: "emailed",
}
"""Each event of an order's saga, as the step it records: what the audit counts per order and
what the read model marks on its row."""
