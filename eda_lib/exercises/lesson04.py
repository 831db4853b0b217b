"""Self-checking exercises of lesson 04 (EDA vs REST): a checkout that waits for payment only, a
99th percentile computed by hand, and a charge recorded with its event through an outbox."""

from __future__ import annotations

import inspect
import sqlite3
from typing import Any, Literal

from eda_lib.codecs import serialize
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.exercises.checks import Check, crashed, fail
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
    if not inspect.iscoroutinefunction(checkout):
        return fail(
            "checkout is a plain function: call and publish are coroutines, and only an async "
            "function can wait for them",
            "write `async def checkout(order, call, publish):` and `await` each call",
        )
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
            return fail(f"with {case}, checkout answered {answer!r}, not {expected!r}", "return it")
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
    hint = (
        "a list of one value has that value as every percentile: handle n = 1 too"
        if len(values) == 1
        else "the rank can fall between two places: floor and ceil give the two neighbours"
    )
    return fail(f"for {shown} your code raised {type(error).__name__}: {error}", hint)


OUTBOX_TABLES = """
CREATE TABLE charges (order_id TEXT PRIMARY KEY, amount INTEGER NOT NULL);
CREATE TABLE outbox (
    id      INTEGER PRIMARY KEY,  -- the order events were stored in
    payload BLOB    NOT NULL,     -- the event, as the broker will carry it
    sent    INTEGER NOT NULL DEFAULT 0
);
"""
"""The checkout's database in lesson 04, section 8: its charges, and the events waiting to be
published (`sent` is 1 once the broker has acknowledged one)."""


class Died(BaseException):
    """The checkout's process dies here, on purpose. Not an `Exception`, so that an
    `except Exception:` in the code it kills cannot catch it: a dead process catches nothing."""


class _DyingConnection:
    """A sqlite3 connection that dies before its `fatal`-th step: an `execute`, a `commit`, or
    the commit that leaving a `with db:` block makes. Counting only, with `fatal=0`."""

    def __init__(self, db: sqlite3.Connection, fatal: int) -> None:
        self._db, self._fatal, self.steps = db, fatal, 0

    def _step(self, what: str) -> None:
        self.steps += 1
        if self.steps == self._fatal:
            raise Died(f"the process died before step {self.steps} ({what})")

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        self._step("an execute")
        return self._db.execute(sql, parameters)

    def commit(self) -> None:
        self._step("a commit")
        self._db.commit()

    def __enter__(self) -> _DyingConnection:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> Literal[False]:
        if kind is None:
            self._step("the commit at the end of `with db:`")
            self._db.commit()
        else:
            self._db.rollback()
        return False


def _restart_and_relay(db: sqlite3.Connection, order_id: str) -> tuple[bool, list[bytes]]:
    """What is left after the process died: was the charge stored, and what does the relay
    publish from the outbox now."""
    db.rollback()  # a dead process's open transaction is gone
    charged = db.execute("SELECT 1 FROM charges WHERE order_id = ?", (order_id,)).fetchone()
    published = [row[0] for row in db.execute("SELECT payload FROM outbox WHERE sent = 0")]
    return charged is not None, published


async def check_record_checkout(record: Any) -> Check:
    """Lesson 04, exercise 3: `record(db, order_id, amount, payload)` stores the charge and the
    event's bytes in the outbox so that a crash at any moment leaves both or neither. The check
    runs it once to count its steps, then kills it before each step in turn."""
    event = PaymentSuccessful(
        payment_id="pay-42", order_id="order-42", amount=4_200, currency="USD"
    )
    payload = serialize(event)
    hint = (
        "both INSERTs (charges, then outbox), then one commit: `with db:` around the two "
        "executes makes them one transaction"
    )
    outcomes, steps, first_rows = [], 0, 0
    for fatal in range(0, 50):  # 0: a run that does not die, to count the steps
        db = sqlite3.connect(":memory:")
        db.executescript(OUTBOX_TABLES)
        connection = _DyingConnection(db, fatal)
        try:
            result = record(connection, "order-42", 4_200, payload)
            if hasattr(result, "__await__"):
                await result
        except Died:
            pass
        except Exception as error:
            return crashed(error, hint)
        outcomes.append(_restart_and_relay(db, "order-42"))
        if fatal == 0:
            steps = connection.steps
            first_rows = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        if fatal >= steps:
            break
    charged, published = outcomes[0]
    if not charged:
        return fail("no charge for order-42 was stored in `charges`", hint)
    if not published:
        if first_rows:
            return fail(
                "the outbox row is marked sent already, so the relay will never publish it",
                "leave `sent` at its default, 0: only the relay marks a row sent, after the "
                "broker has acknowledged it",
            )
        return fail("the charge was stored but the outbox is empty: nothing to publish", hint)
    if published != [payload]:
        return fail(
            f"the outbox holds {published[:2]}, not the event's bytes (payload)",
            "store `payload` itself in outbox.payload: the relay publishes it as it is",
        )
    for fatal, (charged, published) in enumerate(outcomes[1:], start=1):
        if charged and not published:
            return fail(
                f"when the process died before step {fatal} of your {steps}, the charge was "
                "stored and its event never will be: the customer paid, and shipping never hears",
                hint,
            )
        if published and not charged:
            return fail(
                f"when the process died before step {fatal} of your {steps}, the event waits to "
                "be published for a charge that was never stored",
                hint,
            )
    return Check(
        True,
        f"the charge and its event are stored together: killed before each of your {steps} "
        "steps, the process left both or neither, and after a clean run the relay publishes "
        "the event's bytes once",
    )
