"""Hypothesis strategies for the course's events."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from eda_lib import (
    Event,
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    PaymentFailed,
    PaymentSuccessful,
)

texts = st.text(min_size=1, max_size=30)
currencies = st.from_regex(r"[A-Za-z]{3}", fullmatch=True)
amounts = st.integers(min_value=1, max_value=10**15)
times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.timezones()
)
sources = st.sampled_from(["/payment-service", "/order-service", "urn:shop:checkout", "/a/b?c=d"])


def _envelope() -> dict[str, st.SearchStrategy[object]]:
    return {
        "id": st.uuids(version=4),
        "source": sources,
        "time": times,
        "subject": st.none() | texts,
    }


payments = st.builds(
    PaymentSuccessful,
    payment_id=texts,
    order_id=texts,
    occurred_at=times,
    amount=amounts,
    currency=currencies,
    **_envelope(),
)
failures = st.builds(
    PaymentFailed,
    payment_id=texts,
    order_id=texts,
    occurred_at=times,
    amount=amounts,
    currency=currencies,
    reason=texts,
    **_envelope(),
)
orders = st.one_of(
    st.builds(
        OrderCreated,
        order_id=texts,
        customer_id=texts,
        amount=amounts,
        currency=currencies,
        **_envelope(),
    ),
    st.builds(OrderApproved, order_id=texts, **_envelope()),
    st.builds(OrderCancelled, order_id=texts, reason=texts, **_envelope()),
)
events: st.SearchStrategy[Event] = st.one_of(payments, failures, orders)
utc_now = datetime(2026, 1, 5, tzinfo=UTC)
