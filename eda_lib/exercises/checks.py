"""What every self-check shares: the `Check` each one returns (a tick with what was right,
or a cross with what was wrong and a hint), `fail`, and the scenario helpers that the
checks of several lessons use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from eda_lib.codecs import StructuredJson
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Check:
    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("✓ " if self.passed else "✗ Not yet: ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def fail(message: str, hint: str) -> Check:
    return Check(False, f"{message}\n  Hint: {hint}")


def sample_payments() -> list[PaymentSuccessful]:
    amounts = [(4_999, "USD"), (150_000, "USD"), (100_000, "USD"), (250_000, "EUR"), (99, "JPY")]
    return [
        PaymentSuccessful(payment_id=f"pay-{i}", order_id=f"order-{i}", amount=a, currency=c)
        for i, (a, c) in enumerate(amounts)
    ]


def delivered_again(event: E) -> E:
    """`event` as a consumer meets it when it is delivered again: decoded afresh from the
    record's bytes, so a new object with the same event id (a check that hands the same object
    twice would let `id(event)` pass for a de-duplication key)."""
    codec = StructuredJson()
    again = codec.decode(*codec.encode(event))
    assert type(again) is type(event) and again == event and again is not event
    return again


def crashed(error: Exception, hint: str) -> Check:
    return fail(f"your code raised {type(error).__name__}: {error}", hint)
