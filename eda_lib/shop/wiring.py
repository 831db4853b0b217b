"""How each of the shop's services is put together on a broker: the same wiring for the shop in
one process (`Shop`) and for one service per OS process (`python -m eda_lib.shop serve`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from eda_lib.brokers.base import Broker
from eda_lib.cqrs.projections import Projection
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.faults import ConsumerFaults
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.handlers import Handler
from eda_lib.messaging.producer import Producer
from eda_lib.processing.counting import WindowedCount
from eda_lib.processing.steps import keep
from eda_lib.processing.windows import Tumbling
from eda_lib.resilience import ProcessedEvents, RetryPolicy
from eda_lib.shop.services import (
    EMAILS,
    ORDERS,
    PAYMENTS,
    REVENUE,
    SHIPMENTS,
    NotificationService,
    OrderService,
    PaymentService,
    ShippingService,
)
from eda_lib.store.base import EventStore

FLOW: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "orders": ((PAYMENTS,), (ORDERS,)),
    "payments": ((ORDERS, SHIPMENTS), (PAYMENTS,)),
    "shipping": ((PAYMENTS,), (SHIPMENTS,)),
    "notifications": ((ORDERS, SHIPMENTS), (EMAILS,)),
    "read-model": ((ORDERS, PAYMENTS, SHIPMENTS, EMAILS), ()),
    "analytics": ((PAYMENTS,), (REVENUE,)),
}
"""Each service: the topics it reads, the topics it writes (the shop's flow graph)."""
BUSINESS_TOPICS = (ORDERS, PAYMENTS, SHIPMENTS, EMAILS)
RETRY = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=8.0)
"""Up to 7 waits, 0.5 s doubling to 8 s (about 30 s in all): longer than a short outage."""


class UnknownService(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def check_service(name: str) -> None:
    if name not in FLOW:
        raise UnknownService(f"no service '{name}' in the shop. Fix: use one of {', '.join(FLOW)}")


def group_of(service: str) -> str:
    return f"shop-{service}"


@dataclass
class Service:
    """One service: the loop that reads for it, and the orders service behind it if it is that."""

    name: str
    reader: Consumer | WindowedCount
    orders: OrderService | None = None


def build(
    name: str,
    broker: Broker,
    *,
    idempotency: ProcessedEvents,
    store: EventStore | None = None,
    read_model: Projection | None = None,
    retry: RetryPolicy = RETRY,
    faults: ConsumerFaults | None = None,
) -> Service:
    """Service `name` of `FLOW` on `broker`. The orders service needs the `store` it keeps its
    orders in; the read-model service, the `read_model` to fill."""
    check_service(name)
    producer = Producer(broker, name)
    if name == "analytics":
        return Service(name, _analytics(broker))
    orders = None
    handlers: list[Handler]
    if name == "orders":
        if store is None:
            raise ValueError("the orders service keeps its orders in an event store: pass store=")
        orders = OrderService(store, producer)
        handlers = [orders.paid, orders.declined, orders.refunded]
    elif name == "payments":
        payments = PaymentService(producer)
        handlers = [payments.charge, payments.refund]
    elif name == "shipping":
        handlers = [ShippingService(producer).ship]
    elif name == "notifications":
        emails = NotificationService(producer)
        handlers = [emails.shipped, emails.cancelled]
    else:
        if read_model is None:
            raise ValueError("the read-model service fills a projection: pass read_model=")
        handlers = [read_model.on_event]
    consumer = Consumer(
        broker,
        group_of(name),
        FLOW[name][0],
        handlers,
        name=name,
        retry=retry,
        idempotency=idempotency,
        faults=faults,
        start="earliest",
    )
    return Service(name, consumer, orders)


def _analytics(broker: Broker) -> WindowedCount:
    """Revenue per currency per minute of payment time, the payment's `occurred_at` (lesson 14's
    processor). A payment published again (section 6 of lesson 15) is made again, with a new
    `occurred_at` as well as a new envelope `time`; it counts once, at its first copy's, since
    the processor skips an id it has counted."""
    return WindowedCount(
        broker,
        source=PAYMENTS,
        sink=REVENUE,
        group=group_of("analytics"),
        window=Tumbling(timedelta(minutes=1)),
        key=lambda event: getattr(event, "currency", "?"),
        value=lambda event: getattr(event, "amount", 0),
        steps=[keep(lambda event: isinstance(event, PaymentSuccessful))],
        event_time=lambda event: getattr(event, "occurred_at", event.time),
        name="analytics",
    )
