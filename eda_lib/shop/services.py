"""The shop's services (lesson 15), each a few handlers that take one event and publish what
follows from it. None keeps state it could lose in a crash: what a decision needs is in the
event or in fixed reference data (card limits, the carrier's insurance limit), and every event
a handler publishes has a stable id (`follow_up(..., stable_id=True)`), so handling an event
twice publishes the same event twice, which idempotent consumers downstream skip.

The orders service is the exception on purpose: it is event-sourced (lessons 09 and 10). Its
state is its event store; its reactions are commands on the `Order` aggregate, whose rules make
a repeat change nothing; its outbox publishes the store to the orders topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from eda_lib.domain.order_commands import PlaceOrder, order_bus
from eda_lib.domain.orders import Order, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful, format_money
from eda_lib.messaging.producer import Producer
from eda_lib.shop.events import CustomerEmailed, PaymentRefunded, ShipmentFailed
from eda_lib.sourcing.outbox import Outbox
from eda_lib.sourcing.repository import Repository
from eda_lib.store.base import EventStore

ORDERS, PAYMENTS, SHIPMENTS, EMAILS, REVENUE = (
    "shop-orders",
    "shop-payments",
    "shop-shipments",
    "shop-emails",
    "shop-revenue",
)
TOPICS = (ORDERS, PAYMENTS, SHIPMENTS, EMAILS, REVENUE)

CARD_LIMITS: Mapping[str, int] = {"ann": 50_000, "bob": 10_000, "cy": 200_000}
"""Each customer's card limit in cents: the payment service declines an order above it."""
CARRIER_LIMIT = 100_000
"""The carrier insures parcels worth up to 1,000.00: shipping cannot send a dearer one."""


def expected_outcome(order: OrderCreated) -> str:
    """How the rules say an order ends: 'declined' over the customer's card limit, else
    'refunded' over the carrier's limit, else 'shipped'."""
    if order.amount > CARD_LIMITS.get(order.customer_id, 0):
        return "declined"
    return "refunded" if order.amount > CARRIER_LIMIT else "shipped"


def payment_id(order_id: str) -> str:
    return f"pay-{order_id}"


@dataclass
class PaymentService:
    """Charges each new order (declined above the customer's card limit) and refunds a payment
    whose order could not be shipped."""

    producer: Producer
    card_limits: Mapping[str, int] = field(default_factory=lambda: dict(CARD_LIMITS))

    async def charge(self, event: OrderCreated) -> None:
        limit = self.card_limits.get(event.customer_id, 0)
        common = {
            "payment_id": payment_id(event.order_id),
            "order_id": event.order_id,
            "amount": event.amount,
            "currency": event.currency,
        }
        if event.amount > limit:
            limit_shown = format_money(limit, event.currency)
            reason = f"card declined: over {event.customer_id}'s limit of {limit_shown}"
            outcome: PaymentSuccessful | PaymentFailed = event.follow_up(
                PaymentFailed, stable_id=True, reason=reason, **common
            )
        else:
            outcome = event.follow_up(PaymentSuccessful, stable_id=True, **common)
        await self.producer.send(PAYMENTS, outcome)

    async def refund(self, event: ShipmentFailed) -> None:
        refunded = event.follow_up(
            PaymentRefunded,
            stable_id=True,
            payment_id=event.payment_id,
            order_id=event.order_id,
            amount=event.amount,
            currency=event.currency,
            reason=f"shipment failed: {event.reason}",
        )
        await self.producer.send(PAYMENTS, refunded)


@dataclass
class ShippingService:
    """Ships each paid order, unless it is worth more than the carrier insures."""

    producer: Producer
    carrier_limit: int = CARRIER_LIMIT

    async def ship(self, event: PaymentSuccessful) -> None:
        if event.amount > self.carrier_limit:
            failed = event.follow_up(
                ShipmentFailed,
                stable_id=True,
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                reason=f"worth more than the carrier insures "
                f"({format_money(self.carrier_limit, event.currency)})",
            )
            await self.producer.send(SHIPMENTS, failed)
        else:
            shipped = event.follow_up(OrderShipped, stable_id=True, order_id=event.order_id)
            await self.producer.send(SHIPMENTS, shipped)


@dataclass
class NotificationService:
    """Emails the customer once their order has ended: shipped, or cancelled (with why)."""

    producer: Producer

    async def shipped(self, event: OrderShipped) -> None:
        await self._email(event, event.order_id, "your order is on its way")

    async def cancelled(self, event: OrderCancelled) -> None:
        await self._email(event, event.order_id, f"your order was cancelled: {event.reason}")

    async def _email(self, cause: OrderShipped | OrderCancelled, order_id: str, about: str) -> None:
        email = cause.follow_up(CustomerEmailed, stable_id=True, order_id=order_id, about=about)
        await self.producer.send(EMAILS, email)


class OrderService:
    """The orders service, event-sourced: it takes orders (a command), approves an order once
    it is paid, and cancels it when its payment fails or is refunded (the saga's
    compensations); its outbox publishes what the store holds to the orders topic."""

    def __init__(
        self, store: EventStore, producer: Producer, *, name: str = "orders", topic: str = ORDERS
    ) -> None:
        self.store = store
        self.orders = Repository(store, Order)
        self.bus = order_bus(store)
        self.outbox = Outbox(store, producer, topic, name=f"{name}-outbox")

    def place(self, order_id: str, customer_id: str, amount: int, currency: str = "USD") -> None:
        self.bus.dispatch(
            PlaceOrder(order_id=order_id, customer_id=customer_id, amount=amount, currency=currency)
        )

    def paid(self, event: PaymentSuccessful) -> None:
        order = self.orders.load(event.order_id)
        if order.status == "created":
            with order.caused_by(event):
                order.approve()
            self.orders.save(order)

    def declined(self, event: PaymentFailed) -> None:
        self._cancel(event, event.order_id, f"payment failed ({event.reason})")

    def refunded(self, event: PaymentRefunded) -> None:
        self._cancel(event, event.order_id, f"payment refunded ({event.reason})")

    def _cancel(self, cause: PaymentFailed | PaymentRefunded, order_id: str, reason: str) -> None:
        order = self.orders.load(order_id)
        with order.caused_by(cause):
            order.cancel(reason)
        self.orders.save(order)
