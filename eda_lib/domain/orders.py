"""Order events from the course's chapter 4, keyed by order id."""

from __future__ import annotations

from typing import ClassVar

from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr


class _OrderEvent(Event):
    default_source: ClassVar[str] = "/order-service"
    subject_field: ClassVar[str | None] = "order_id"

    order_id: NonEmptyStr


class OrderCreated(_OrderEvent):
    """A customer placed an order for `amount` minor units of `currency`."""

    customer_id: NonEmptyStr
    amount: MinorUnits
    currency: CurrencyCode = "USD"


class OrderApproved(_OrderEvent):
    """The order passed its checks and may be fulfilled."""


class OrderCancelled(_OrderEvent):
    """The order will not be fulfilled; `reason` says why."""

    reason: NonEmptyStr
