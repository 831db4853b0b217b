"""Self-checking exercises of lesson 04 (EDA vs REST): a checkout that waits for payment only, and a
99th percentile computed by hand."""

from __future__ import annotations

from typing import Any

from eda_lib.exercises.checks import Check, fail
from eda_lib.simulate import Scenario, percentiles, simulate


class Declined(Exception):
    """The card was declined: what `call("payment")` raises in lesson 04's exercise."""


class _Services:
    """The exercise's services: `call(name)` fails as the scenario says; `publish` records."""

    def __init__(self, down: frozenset[str] = frozenset(), declined: bool = False) -> None:
        self.down, self.declined = down, declined
        self.called: list[str] = []
        self.published: list[Any] = []

    async def call(self, service: str) -> None:
        self.called.append(service)
        if service in self.down:
            raise ConnectionError(f"{service}: connection refused")
        if service == "payment" and self.declined:
            raise Declined("card declined")

    async def publish(self, event: Any) -> None:
        self.published.append(event)


async def check_event_checkout(checkout: Any) -> Check:
    """Lesson 04, exercise 1: `async def checkout(order, call, publish)` that calls payment
    only, publishes the order once it is paid, and answers 'paid' whatever the other services
    are doing; a declined card answers 'declined' and publishes nothing."""
    cases = [
        ("every service up", _Services(), "paid"),
        ("email down", _Services(down=frozenset({"email"})), "paid"),
        (
            "shipping and analytics down",
            _Services(down=frozenset({"shipping", "analytics"})),
            "paid",
        ),
        ("the card declined", _Services(declined=True), "declined"),
        ("the payment service down", _Services(down=frozenset({"payment"})), "ConnectionError"),
    ]
    for case, services, expected in cases:
        try:
            answer = await checkout("order-7", services.call, services.publish)
        except ConnectionError as error:
            if expected != "ConnectionError":
                return fail(
                    f"with {case}, checkout raised ConnectionError: {error}",
                    "call only payment: the other services read the event later",
                )
            if services.published:
                return fail(f"with {case}, it still published", "publish only after payment")
            continue
        except Exception as error:
            hint = (
                "catch Declined around the payment call and return 'declined'"
                if isinstance(error, Declined)
                else "call only payment: the other services read the event later"
            )
            return fail(f"with {case}, checkout raised {type(error).__name__}: {error}", hint)
        if expected == "ConnectionError":
            return fail(
                f"with {case}, checkout answered {answer!r}",
                "payment being down is not a declined card: catch only Declined, and let the "
                "ConnectionError fail the checkout (nothing was charged)",
            )
        if answer != expected:
            return fail(
                f"with {case}, checkout answered {answer!r}, not {expected!r}", "return it"
            )
        if services.called != ["payment"]:
            return fail(
                f"with {case}, checkout called {services.called}",
                "call payment, and nothing else: that is the point of the event",
            )
        published = ["order-7"] if expected == "paid" else []
        if services.published != published:
            return fail(
                f"with {case}, checkout published {services.published}",
                "publish the order once, after payment succeeded; nothing if it was declined",
            )
    return Check(
        True,
        "the checkout waits for payment only: email, shipping and analytics being down no "
        "longer fails it, and a declined card is still refused while the customer waits",
    )


def check_p99(function: Any) -> Check:
    """Lesson 04, exercise 2: the 99th percentile of a list of latencies, interpolating
    between the two nearest ranks as `eda_lib.simulate.percentiles` does."""

    latencies = [r.response_ms for r in simulate(Scenario(checkouts=300)).rest.records]
    samples: list[list[float]] = [
        [42.0],
        [3.0, 1.0, 2.0],
        [float(n) for n in range(1, 101)],
        latencies,
    ]
    for values in samples:
        expected = percentiles(values)["p99"]
        try:
            got = function(list(values))
        except Exception as error:
            return _crashed_on(error, values)
        if not isinstance(got, int | float) or abs(got - expected) > 1e-6 * max(1.0, expected):
            shown = values if len(values) <= 5 else f"{len(values)} values"
            return fail(
                f"for {shown} you gave {got!r}; the p99 is {expected:.4g}",
                "sort the values; the rank is (n - 1) * 0.99; interpolate between the values "
                "at floor(rank) and ceil(rank)",
            )
    return Check(True, "your p99 agrees with the library's on every sample, the simulation's too")


def _crashed_on(error: Exception, values: list[Any]) -> Check:
    shown = values if len(values) <= 5 else f"{len(values)} values"
    return fail(
        f"for {shown} your code raised {type(error).__name__}: {error}",
        "a list of one value has that value as every percentile: handle n = 1 too",
    )
