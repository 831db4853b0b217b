"""Self-checking exercises of lesson 00 (start here): an event the library refuses to build, and a
first payment published."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.codecs import decode_message
from eda_lib.domain.payments import PaymentSuccessful as Payment
from eda_lib.events import Event, InvalidEvent
from eda_lib.exercises.checks import Check, fail
from eda_lib.messaging import Producer


def check_invalid_event_is_refused(build: Callable[[], Event]) -> Check:
    """Lesson 00: the learner builds an invalid event and sees it refused."""
    try:
        build()
    except InvalidEvent as error:
        return Check(True, f"refused with a clear reason: {error}")
    except Exception as error:  # the learner's own mistake, not the event's refusal
        return fail(
            f"your code raised {type(error).__name__}: {error}, before an event was refused",
            "build a PaymentSuccessful(...) with one field wrong: the event refuses it",
        )
    # The event checks each field's type and shape, not its meaning: a currency must be three
    # letters, and 'xyz' is three letters, though ISO 4217 has no such currency.
    return fail(
        "the event was built",
        "try a negative amount or a two-letter currency (a currency is checked for its shape "
        "only: three letters, so 'xyz' is built)",
    )


async def check_first_publish(publish: Callable[[Any], Awaitable[Any]]) -> Check:
    """Lesson 00, exercise 2: `publish(producer)` sends a payment of 42.00 USD for order
    'order-3' to the topic 'payments' and returns the delivery report."""
    async with InMemoryBroker(seed=0) as broker:
        await broker.create_topic("payments", partitions=2)
        try:
            report = await publish(Producer(broker, "payment-service"))
        except Exception as error:
            return fail(
                f"your code raised {type(error).__name__}: {error}",
                'await producer.send("payments", PaymentSuccessful(...))',
            )
        stored = [r for p in range(2) for r in await broker.read("payments", p)]
    if len(stored) != 1:
        return fail(f"{len(stored)} events reached 'payments'", "send exactly one event")
    event = decode_message(stored[0].value, stored[0].headers)
    wanted = (4200, "USD", "order-3", "pay-3")
    if (
        not isinstance(event, Payment)
        or (
            event.amount,
            event.currency,
            event.order_id,
            event.payment_id,
        )
        != wanted
    ):
        return fail(
            f"the broker holds {event!r}",
            "42.00 is 4200 minor units; payment_id='pay-3', order_id='order-3', currency='usd'",
        )
    if getattr(report, "offset", None) != stored[0].offset:
        return fail("publish did not return the delivery report", "return what send returns")
    return Check(True, f"stored at {stored[0].topic}[{stored[0].partition}], offset 0")
