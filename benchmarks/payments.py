"""The input the throughput benchmarks share: distinct payments, each keyed by its own order."""

from __future__ import annotations

from eda_lib import PaymentSuccessful


def make_events(count: int) -> list[PaymentSuccessful]:
    return [
        PaymentSuccessful(
            payment_id=f"pay-{i}", order_id=f"order-{i}", amount=1000 + i % 5000, currency="usd"
        )
        for i in range(count)
    ]
