"""Payment events: the running example of lesson 1.1 (`PaymentSuccessful`) and its failure twin."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from eda_lib import clock
from eda_lib.events import CurrencyCode, Event, MinorUnits, NonEmptyStr, UtcDatetime

# ISO 4217 currencies without minor units; everything else here is shown with two decimals.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def format_money(amount: int, currency: str) -> str:
    """12000, 'USD' -> '120.00 USD': minor units shown the way a receipt would."""
    if currency in _ZERO_DECIMAL:
        return f"{amount:,} {currency}"
    return f"{amount // 100:,}.{amount % 100:02d} {currency}"


class _Payment(Event):
    default_source: ClassVar[str] = "/payment-service"
    subject_field: ClassVar[str | None] = "order_id"

    payment_id: NonEmptyStr
    order_id: NonEmptyStr
    occurred_at: UtcDatetime = Field(default_factory=clock.now)
    amount: MinorUnits
    currency: CurrencyCode

    @property
    def money(self) -> str:
        return format_money(self.amount, self.currency)


class PaymentSuccessful(_Payment):
    """A payment went through (lesson 1.1): shipping may ship, analytics counts, a receipt goes out.

    Keyed by order id, so all of one order's events land on one partition, in order.
    """


class PaymentUpdated(_Payment):
    """Course chapter 5: a payment's status changed (e.g. "success"), on `payment-update`."""

    status: NonEmptyStr


class PaymentFailed(_Payment):
    """A payment was declined; `reason` says why (e.g. 'card_declined')."""

    reason: NonEmptyStr


class LargePaymentFlagged(_Payment):
    """A payment of at least `threshold` minor units, flagged for a closer look (lesson 01's
    processor: it reads payments and publishes this for each large one)."""

    default_source: ClassVar[str] = "/fraud-watch"
    threshold: MinorUnits
