"""Self-checking exercises of lesson 01 (what is event-driven architecture?): a payment built by
hand, a fraud group added without touching the producer, and a state-transfer event that
needs no call back."""

from __future__ import annotations

import json
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
    1,000.00 in dollars or euros (both have two decimals). It is added without touching the
    producer. The one yen payment, 99 JPY (yen have no minor units), is small in any reading."""
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
            "dollars and euros have two decimals, so 1,000.00 is 100_000 minor units in either "
            '(no conversion; yen have none: 99 JPY is 99 yen), and "at least" includes exactly '
            "1,000.00",
        )
    return Check(True, "the fraud group flags 3 of 8 payments, and the producer never changed.")


# Two orders, each with the address it has when paid, the customer's change made after the event
# was built, and a billing address: two orders, so an answer that names an address is refused.
_ORDERS = (
    ("order-7", "1 Elm St", "9 Oak Ave", "PO Box 12"),
    ("order-8", "5 Birch Ln", "2 Ash Ct", "PO Box 40"),
)


def check_state_transfer(
    paid_event: Callable[[dict[str, Any]], Any], ship: Callable[[Any, Callable[[str], Any]], Any]
) -> Check:
    """Lesson 01, exercise 3: a state-transfer event, so shipping needs no call back.

    `paid_event(order)` builds the event from the order service's record (a dict);
    `ship(event, get_order)` returns the address the parcel goes to. After the event is built,
    the customer changes the address in the record and the order service goes down: a handler
    that calls back fails, an event that only names the order gives shipping nothing to work
    from, and an event that still points at the record (rather than copying from it) changes
    with it. The event is handed to `ship` as the same object, as an in-process bus hands it."""
    for order_id, paid_address, new_address, billing_address in _ORDERS:
        refusal = _ship_one(paid_event, ship, order_id, paid_address, new_address, billing_address)
        if refusal is not None:
            return refusal
    first, paid_address, new_address, _ = _ORDERS[0]
    return Check(
        True,
        f"shipped {len(_ORDERS)} orders from their events, with the order service down and no "
        f"call back ({first} to {paid_address!r}). The cost: each copy is as of the payment, so "
        f"the later change to {new_address!r} is not in it.",
    )


def _ship_one(
    paid_event: Callable[[dict[str, Any]], Any],
    ship: Callable[[Any, Callable[[str], Any]], Any],
    order_id: str,
    paid_address: str,
    new_address: str,
    billing_address: str,
) -> Check | None:
    """One order through the scenario: None if it shipped to the address it had when paid."""
    order = {
        "order_id": order_id,
        "customer_id": "c-" + order_id.removeprefix("order-"),
        "ship_to": paid_address,
        "bill_to": billing_address,
        "amount": 9995,
        "currency": "EUR",
    }
    event = paid_event(order)
    try:
        json.dumps(event)
    except (TypeError, ValueError) as error:
        return fail(
            f"the event is not JSON data ({error})",
            "build it from plain values (a dict of strings and numbers), so a broker can carry it",
        )
    order["ship_to"] = new_address  # the customer moves; the order service updates its record
    calls: list[str] = []

    def get_order(asked_for: str) -> Any:
        calls.append(asked_for)
        raise ConnectionError("the order service is down")

    try:
        address = ship(event, get_order)
    except ConnectionError:
        address = None
    except Exception as error:  # a key or attribute the event does not have, say
        return fail(
            f"ship raised {type(error).__name__}: {error}; the event it got was {event!r}",
            "put into the event what shipping needs to know, and read it from the event",
        )
    if calls:
        return fail(
            f"ship called back the order service {len(calls)} time(s), and it is down",
            "a state-transfer event carries the data: read the address from the event, and "
            "never call get_order",
        )
    if address == new_address:
        return fail(
            f"shipped {order_id} to {address!r}, the address set after the event was built",
            "your event still points at the order service's own dict (or shares it), so it "
            "changed when the record did: copy the values into a new dict",
        )
    if address == billing_address:
        return fail(
            f"shipped {order_id} to {address!r}, the billing address (bill_to)",
            "a parcel goes to the order's ship_to",
        )
    if address != paid_address:
        return fail(
            f"shipped {order_id} to {address!r}, expected {paid_address!r}",
            "ship should return the address the order had when it was paid, read from the event",
        )
    return None
