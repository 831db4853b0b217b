"""The reactions to a payment from lesson 1.1, as small services with one handler each: three
that only react, one that reacts and publishes (`ShippingDesk`), and a processor that turns some
payments into alerts (`LargePaymentWatch`).

Each handler's annotation says it takes `PaymentSuccessful`, so a consumer hands it nothing else.
Each service keeps its effects in plain attributes, so a lesson (and a test) can look at them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from eda_lib.domain.orders import OrderShipped
from eda_lib.domain.payments import LargePaymentFlagged, PaymentSuccessful, format_money
from eda_lib.messaging.producer import Producer


@dataclass
class ShippingService:
    """Marks an order as ready to ship once its payment succeeded."""

    ready_to_ship: list[str] = field(default_factory=list)

    def handle(self, event: PaymentSuccessful) -> None:
        if event.order_id not in self.ready_to_ship:  # a repeated payment ships nothing twice
            self.ready_to_ship.append(event.order_id)


@dataclass
class AnalyticsDashboard:
    """Counts payments and revenue per currency, the dashboard counters of lesson 1.1."""

    payments: int = 0
    revenue: Counter[str] = field(default_factory=Counter)

    def handle(self, event: PaymentSuccessful) -> None:
        self.payments += 1
        self.revenue[event.currency] += event.amount

    def summary(self) -> str:
        money = ", ".join(format_money(v, c) for c, v in sorted(self.revenue.items()))
        return f"{self.payments} payment(s), revenue {money or 'none'}"


@dataclass
class ReceiptMailer:
    """Writes the receipt email a customer would get (kept in `outbox` instead of sent)."""

    outbox: list[str] = field(default_factory=list)

    def handle(self, event: PaymentSuccessful) -> None:
        self.outbox.append(
            f"Receipt for order {event.order_id}: we received {event.money} "
            f"(payment {event.payment_id})."
        )


@dataclass
class ShippingDesk:
    """Shipping as a consumer that also publishes: once a payment is in, it ships the order and
    announces it with `OrderShipped` on `topic`, caused by the payment (lesson 01)."""

    producer: Producer
    topic: str = "shipments"
    shipped: list[str] = field(default_factory=list)

    async def handle(self, event: PaymentSuccessful) -> None:
        if event.order_id in self.shipped:  # a repeated payment ships nothing twice
            return
        self.shipped.append(event.order_id)
        await self.producer.send(self.topic, event.follow_up(OrderShipped, order_id=event.order_id))


@dataclass
class LargePaymentWatch:
    """A processor: it reads payments and publishes `LargePaymentFlagged` on `topic` for each
    payment of at least `threshold` minor units; it keeps no state of its own (lesson 01)."""

    producer: Producer
    threshold: int = 20_000
    topic: str = "alerts"

    async def handle(self, event: PaymentSuccessful) -> None:
        if event.amount >= self.threshold:
            flagged = event.follow_up(
                LargePaymentFlagged,
                payment_id=event.payment_id,
                order_id=event.order_id,
                amount=event.amount,
                currency=event.currency,
                threshold=self.threshold,
            )
            await self.producer.send(self.topic, flagged)
