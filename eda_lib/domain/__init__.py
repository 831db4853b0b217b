"""The course's example domains: payments (lessons 1.1 and 5) and orders (chapter 4)."""

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.domain.payments import (
    PaymentFailed,
    PaymentSuccessful,
    PaymentUpdated,
    format_money,
)

__all__ = [
    "OrderApproved",
    "OrderCancelled",
    "OrderCreated",
    "PaymentFailed",
    "PaymentSuccessful",
    "PaymentUpdated",
    "format_money",
]
