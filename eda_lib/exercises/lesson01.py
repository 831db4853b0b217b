"""Self-checking exercises of lesson 01 (what is event-driven architecture?): a payment built by
hand, and a fraud group added without touching the producer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, fail, sample_payments
from eda_lib.messaging import Consumer, Producer


def check_payment_for_99_95_eur(event: Any) -> Check:
    """Lesson 01, exercise 1: build the payment of 99.95 EUR for order 'order-7'."""
    if not isinstance(event, PaymentSuccessful):
        return fail(
            f"expected a PaymentSuccessful, got {type(event).__name__}",
            "PaymentSuccessful(payment_id=..., order_id=..., amount=..., currency=...)",
        )
    if event.amount != 9995:
        return fail(
            f"amount is {event.amount}",
            "money is a whole number of minor units: 99.95 is 9995 cents",
        )
    if event.currency != "EUR" or event.order_id != "order-7":
        return fail(
            f"currency {event.currency}, order {event.order_id}",
            "use currency 'eur' (it is normalised to 'EUR') and order_id 'order-7'",
        )
    return Check(True, f"{event.money} for order-7, keyed by '{event.key}'.")


async def check_large_payment_flagger(flag: Callable[[Event], bool]) -> Check:
    """Lesson 01, exercise 2: a fourth reaction, a fraud group that flags payments of at least
    1,000.00 in any currency with two decimals. It is added without touching the producer."""
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=3)
    producer = Producer(broker, "payment-service")
    sample = sample_payments()
    for event in sample:
        await producer.send("payments", event)
    # just under the threshold, a threshold ten times too small, and euros just under it (which
    # a conversion to dollars would push over): none of them may be flagged
    for n, amount, currency in ((5, 99_999, "USD"), (6, 10_000, "USD"), (7, 95_000, "EUR")):
        await producer.send(
            "payments",
            PaymentSuccessful(
                payment_id=f"pay-{n}", order_id=f"order-{n}", amount=amount, currency=currency
            ),
        )
    flagged: list[str] = []
    consumer = Consumer(
        broker,
        "fraud",
        "payments",
        lambda e: flagged.append(e.payment_id) if flag(e) else None,
        start="earliest",
    )
    await consumer.start()
    report = await consumer.run()
    if report.dead_lettered:
        error = broker.trace.select("failed")[0].detail
        return fail(
            f"your function raised on {report.dead_lettered} event(s): {error}",
            "it receives a PaymentSuccessful; read event.amount and event.currency",
        )
    expected = ["pay-1", "pay-2", "pay-3"]
    if sorted(flagged) != expected:
        return fail(
            f"flagged {sorted(flagged)}, expected {expected}",
            '1,000.00 is 100_000 minor units in any currency (no conversion), and "at least" '
            "includes exactly 1,000.00",
        )
    return Check(True, "the fraud group flags 3 of 8 payments, and the producer never changed.")
