"""Order events from the course's chapter 4, keyed by order id, and the `Order` aggregate that
records them (lessons 09 and 10)."""

from __future__ import annotations

from typing import ClassVar

from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr
from eda_lib.sourcing.aggregate import Aggregate, RuleBroken


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


class OrderShipped(_OrderEvent):
    """The parcel left the warehouse (lesson 01: what shipping publishes once a payment is in)."""

    default_source: ClassVar[str] = "/shipping-service"


class Order(Aggregate):
    """An order's lifecycle as an event-sourced aggregate (lessons 09 and 10).

    Rules: an order is placed once; a cancelled order cannot be approved; approving an approved
    order, or cancelling a cancelled one, changes nothing and records nothing.
    """

    stream_prefix = "order"

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.status = "new"
        self.customer_id = ""
        self.amount = 0
        self.currency = ""
        self.reason = ""

    @classmethod
    def place(cls, order_id: str, customer_id: str, amount: int, currency: str = "USD") -> Order:
        order = cls(order_id)
        created = OrderCreated(
            order_id=order_id, customer_id=customer_id, amount=amount, currency=currency
        )
        order.record(created)
        return order

    def approve(self) -> None:
        if self.status == "cancelled":
            raise RuleBroken(
                f"order {self.id} was cancelled ({self.reason}) and cannot be approved",
                fix="place a new order",
            )
        if self.status == "created":
            self.record(OrderApproved(order_id=self.id))

    def cancel(self, reason: str) -> None:
        if self.status != "cancelled":
            self.record(OrderCancelled(order_id=self.id, reason=reason))

    def apply(self, event: Event) -> None:
        match event:
            case OrderCreated():
                self.status = "created"
                self.customer_id = event.customer_id
                self.amount = event.amount
                self.currency = event.currency
            case OrderApproved():
                self.status = "approved"
            case OrderCancelled():
                self.status = "cancelled"
                self.reason = event.reason
            case _:
                raise self.unexpected(event)
