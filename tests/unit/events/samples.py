"""A valid payment, and the same with some fields changed, for the event and codec tests."""

from __future__ import annotations

from eda_lib import PaymentSuccessful

GOOD = {"payment_id": "pay-1", "order_id": "order-1", "amount": 12000, "currency": "usd"}


def payment(**changes: object) -> PaymentSuccessful:
    return PaymentSuccessful(**{**GOOD, **changes})
