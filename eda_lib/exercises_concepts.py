"""Self-checking exercises of the concept lessons (03, 04 and 06). Each check runs the learner's
code and says what was right, or what was wrong and a hint."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictInt, TypeAdapter, ValidationError

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.codecs import deserialize, serialize
from eda_lib.compatibility import compatibility
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.domain.telemetry import SensorReading, TemperatureAlert
from eda_lib.events import Event, InvalidEvent, NonEmptyStr, upcaster
from eda_lib.exercises import Check, _fail
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer
from eda_lib.reading import data_fields
from eda_lib.simulate import Scenario, percentiles, simulate

# --- lesson 06 --------------------------------------------------------------------------------


class TicketBooked(Event):
    """Version 1: a seat as the box office writes it, row number then seat letter ('12A')."""

    ticket_id: NonEmptyStr
    seat: NonEmptyStr


class TicketBookedV2(Event):
    """Version 2: the seat split into its row number and its letter."""

    event_type = "TicketBooked"
    schema_version = 2
    ticket_id: NonEmptyStr
    row: StrictInt
    letter: NonEmptyStr


class RoomBooked(Event):
    """Version 1 of a hotel booking, for the compatibility exercise."""

    room_id: str
    nights: int


_SEATS = {"12A": (12, "A"), "3F": (3, "F"), "104C": (104, "C"), "7K": (7, "K")}


def check_seat_upcaster(function: Any) -> Check:
    """Lesson 06, exercise 1: an upcaster from TicketBooked v1 (`seat`: '12A') to v2 (`row`: 12,
    `letter`: 'A'). The check registers it and reads v1 events as v2 with it."""
    if not callable(function):
        return _fail(f"expected a function, got {function!r}", "def split_seat(data): ...")
    try:
        sample = function({"ticket_id": "t-0", "seat": "12A"})
    except Exception as error:
        return _fail(f"on seat '12A' it raised {type(error).__name__}: {error}", "see the error")
    if not isinstance(sample, dict) or set(sample) != {"ticket_id", "row", "letter"}:
        shown = sorted(sample) if isinstance(sample, dict) else repr(sample)
        return _fail(
            f"for seat '12A' it returned {shown}; v2 data has ticket_id, row and letter",
            "return the data with 'row' (an int) and 'letter' (a str) and without 'seat'",
        )
    upcaster(TicketBooked, from_version=1)(function)
    for number, (seat, (row, letter)) in enumerate(_SEATS.items()):
        written = TicketBooked(ticket_id=f"t-{number}", seat=seat)
        try:
            read = deserialize(serialize(written))
        except InvalidEvent as error:
            return _fail(
                f"a v1 event with seat '{seat}' could not be read as v2: {error}",
                "return the data with 'row' (an int) and 'letter' (a str) and without 'seat'",
            )
        if not isinstance(read, TicketBookedV2):
            return _fail(f"read as {type(read).__name__}", "the check reads the newest version")
        if (read.row, read.letter) != (row, letter):
            return _fail(
                f"seat '{seat}' became row {read.row!r}, letter {read.letter!r}; "
                f"expected row {row}, letter '{letter}'",
                "the letter is the last character, the row the digits before it: "
                "int(seat[:-1]), seat[-1]",
            )
        if read.ticket_id != written.ticket_id or read.id != written.id:
            return _fail("the ticket id or the event id changed", "change only the seat fields")
    return Check(
        True,
        f"all {len(_SEATS)} v1 tickets read as v2, ids kept; old events in the topic need no "
        "rewriting",
    )


def check_full_change(new_version: Any) -> Check:
    """Lesson 06, exercise 2: a version 2 of RoomBooked that adds a field and is FULL
    compatible, so producers and consumers can be upgraded in any order."""
    if not (isinstance(new_version, type) and issubclass(new_version, Event)):
        return _fail(f"expected an event class, got {new_version!r}", "class RoomBookedV2(Event):")
    if new_version.event_type != "RoomBooked" or new_version.schema_version != 2:
        return _fail(
            f"it is {new_version.event_type} v{new_version.schema_version}",
            'set event_type = "RoomBooked" and schema_version = 2',
        )
    added = data_fields(new_version) - data_fields(RoomBooked)
    if not added:
        return _fail("v2 has no field v1 lacks", "add a field, e.g. guests")
    for name in sorted(n for n in added if not new_version.model_fields[n].is_required()):
        field = new_version.model_fields[name]
        default = field.get_default(call_default_factory=True)
        try:
            kind: Any = (
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            TypeAdapter(kind).validate_python(default)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            return _fail(f"the default of '{name}', {default!r}, is not valid: {problem}", "fix it")
    verdict = compatibility(RoomBooked, new_version)
    if verdict.level != "FULL":
        return _fail(str(verdict), "a new field needs a default, and keep every v1 field as is")
    try:
        old = RoomBooked(room_id="r-1", nights=2)
        new = deserialize(serialize(old))
        back = deserialize(serialize(new), read_as={"RoomBooked": RoomBooked})
    except InvalidEvent as error:
        return _fail(f"the decoder refused it: {error}", "keep room_id and nights as in v1")
    if not isinstance(new, new_version) or not isinstance(back, RoomBooked) or back.nights != 2:
        return _fail("a round trip between the versions lost something", "keep the v1 fields")
    fields = ", ".join(sorted(added))
    return Check(True, f"FULL: v2 adds {fields} with a default; old and new readers read both")


# --- lesson 04 --------------------------------------------------------------------------------


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
                return _fail(
                    f"with {case}, checkout raised ConnectionError: {error}",
                    "call only payment: the other services read the event later",
                )
            if services.published:
                return _fail(f"with {case}, it still published", "publish only after payment")
            continue
        except Exception as error:
            hint = (
                "catch Declined around the payment call and return 'declined'"
                if isinstance(error, Declined)
                else "call only payment: the other services read the event later"
            )
            return _fail(f"with {case}, checkout raised {type(error).__name__}: {error}", hint)
        if expected == "ConnectionError":
            return _fail(
                f"with {case}, checkout answered {answer!r}",
                "payment being down is not a declined card: catch only Declined, and let the "
                "ConnectionError fail the checkout (nothing was charged)",
            )
        if answer != expected:
            return _fail(
                f"with {case}, checkout answered {answer!r}, not {expected!r}", "return it"
            )
        if services.called != ["payment"]:
            return _fail(
                f"with {case}, checkout called {services.called}",
                "call payment, and nothing else: that is the point of the event",
            )
        published = ["order-7"] if expected == "paid" else []
        if services.published != published:
            return _fail(
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
            return _fail(
                f"for {shown} you gave {got!r}; the p99 is {expected:.4g}",
                "sort the values; the rank is (n - 1) * 0.99; interpolate between the values "
                "at floor(rank) and ceil(rank)",
            )
    return Check(True, "your p99 agrees with the library's on every sample, the simulation's too")


def _crashed_on(error: Exception, values: list[Any]) -> Check:
    shown = values if len(values) <= 5 else f"{len(values)} values"
    return _fail(
        f"for {shown} your code raised {type(error).__name__}: {error}",
        "a list of one value has that value as every percentile: handle n = 1 too",
    )


# --- lesson 03 --------------------------------------------------------------------------------

HEAT_THRESHOLD = 75.0


def _reading(sensor: str, celsius: float) -> SensorReading:
    return SensorReading(sensor_id=sensor, celsius=celsius)


def check_sustained_rule(rule_class: Any) -> Check:
    """Lesson 03, exercise 1: a rule whose `handle(reading)` returns a TemperatureAlert when a
    sensor's third reading in a row is over 75 °C (a single hot reading is noise), once, and
    again only after that sensor has cooled down to 75 or below; otherwise None."""
    hot, cool = 80.0, 60.0
    cases = [
        ("one glitch", [("s1", cool), ("s1", 95.0), ("s1", cool), ("s1", cool)], []),
        ("three hot in a row", [("s1", hot), ("s1", hot), ("s1", hot), ("s1", hot)], [2]),
        ("exactly 75 is not over", [("s1", 75.0)] * 4, []),
        (
            "two sensors interleaved",
            [("s1", hot), ("s2", hot), ("s1", hot), ("s2", cool), ("s1", hot), ("s2", hot)],
            [4],
        ),
        (
            "hot, cool, hot again",
            [("s1", hot)] * 3 + [("s1", cool)] + [("s1", hot)] * 3,
            [2, 6],
        ),
    ]
    for case, sequence, expected in cases:
        try:
            rule = rule_class()
            answers = [rule.handle(_reading(s, c)) for s, c in sequence]
        except Exception as error:
            return _fail(f"{case}: your rule raised {type(error).__name__}: {error}", "see above")
        odd = next(
            (a for a in answers if a is not None and not isinstance(a, TemperatureAlert)), None
        )
        if odd is not None:
            return _fail(
                f"{case}: handle returned {odd!r}",
                "return a TemperatureAlert for an alert, and None (not False) for no alert",
            )
        raised = [n for n, answer in enumerate(answers) if answer is not None]
        if raised != expected:
            shown = ", ".join(f"{s} {c:g}" for s, c in sequence)
            return _fail(
                f"{case} ({shown}): alerts after readings {[n + 1 for n in raised]}, "
                f"expected after {[n + 1 for n in expected]}",
                "count hot readings in a row per sensor (a dict); alert when the count reaches 3; "
                "reset the count when a reading is 75 or below",
            )
        for n in expected:
            alert = answers[n]
            if not isinstance(alert, TemperatureAlert) or alert.sensor_id != sequence[n][0]:
                return _fail(f"{case}: returned {alert!r}", "return reading.follow_up(...)")
    return Check(True, "a glitch no longer wakes anyone up; a sensor that stays hot does")


async def check_auditor(audit: Any) -> Check:
    """Lesson 03, exercise 2: `async def audit(broker, topic)` that reads the whole topic as a
    new consumer group and returns the event types in order, leaving other groups alone."""

    async with InMemoryBroker() as broker:
        await broker.create_topic("ledger")
        history: list[Event] = [
            PaymentSuccessful(payment_id="p1", order_id="o1", amount=100, currency="usd"),
            PaymentFailed(payment_id="p2", order_id="o2", amount=200, currency="usd", reason="x"),
            PaymentSuccessful(payment_id="p3", order_id="o3", amount=300, currency="usd"),
        ]
        await Producer(broker, "payments").send_all("ledger", history)

        def book(event: Event) -> None:
            pass

        async with Consumer(broker, "bookkeeping", "ledger", book) as early:
            await early.run()
        try:
            types = await audit(broker, "ledger")
        except Exception as error:
            return _fail(
                f"your audit raised {type(error).__name__}: {error}",
                "use `async with Consumer(broker, 'auditor', topic) as c:` and "
                "`async for event in c.events():` (it ends when the topic is idle)",
            )
        groups = {g.group: g for g in (await broker.describe()).groups}
    expected = [e.event_type for e in history]
    if list(types or []) != expected:
        return _fail(
            f"audit returned {types!r}, expected {expected}",
            "a new group starts at the earliest offset: read until the topic is idle, "
            "collecting event.event_type",
        )
    if len(groups) < 2:
        return _fail(
            "the types are right, but no consumer group of the auditor's own read them",
            "an auditor runs for ever and must remember its place: read as a consumer in a "
            "group of its own, e.g. Consumer(broker, 'auditor', topic)",
        )
    return Check(True, "a group that joined late read every event from offset 0")
