"""Lesson 15's shop: orders (event-sourced), payments, shipping, notifications, a read model and
analytics, joined by a saga with compensations; in one process (`Shop`) or as one OS process
per service (`python -m eda_lib.shop`)."""

from eda_lib.shop.audit import DeadLetter, OrderAudit, ShopAudit, audit
from eda_lib.shop.events import CustomerEmailed, PaymentRefunded, ShipmentFailed
from eda_lib.shop.read_model import ShopOrders
from eda_lib.shop.services import (
    CARD_LIMITS,
    CARRIER_LIMIT,
    EMAILS,
    ORDERS,
    PAYMENTS,
    REVENUE,
    SHIPMENTS,
    TOPICS,
    expected_outcome,
)
from eda_lib.shop.shop import Shop
from eda_lib.shop.wiring import FLOW, UnknownService

__all__ = [
    "CARD_LIMITS",
    "CARRIER_LIMIT",
    "EMAILS",
    "FLOW",
    "ORDERS",
    "PAYMENTS",
    "REVENUE",
    "SHIPMENTS",
    "TOPICS",
    "CustomerEmailed",
    "DeadLetter",
    "OrderAudit",
    "PaymentRefunded",
    "ShipmentFailed",
    "Shop",
    "ShopAudit",
    "ShopOrders",
    "UnknownService",
    "audit",
    "expected_outcome",
]
