"""Is the shop consistent? An audit of what its topics hold, independent of every service.

It reads the events themselves (each id once: a repeat delivered after a crash is the same
event) and checks the saga's promises per order: one payment outcome; a declined order is
cancelled and never approved; a paid order is shipped once, or refunded once (the amount paid)
and cancelled; the customer is emailed once. Given the rules (`expected`), it checks that each
order ended as they say; given the orders placed (`placed`), that none is missing from the
topics; given the dead letters (`parked`), it says which event an unfinished order is stuck on.
An order still on its way is "unfinished"; a broken promise is a problem.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from eda_lib.domain.orders import OrderCreated
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.events import Event
from eda_lib.shop.events import SAGA_STEPS, PaymentRefunded


@dataclass(frozen=True)
class OrderAudit:
    order_id: str
    outcome: str
    """'shipped', 'declined' or 'refunded' once the saga has ended; else 'unfinished'."""
    waiting_for: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShopAudit:
    orders: tuple[OrderAudit, ...]
    repeats: int
    """Records carrying an event id seen before: redeliveries, skipped by idempotent readers."""

    @property
    def consistent(self) -> bool:
        """Every order's saga has ended, and no promise was broken."""
        return all(o.outcome != "unfinished" and not o.problems for o in self.orders)

    def outcomes(self) -> dict[str, int]:
        return dict(sorted(Counter(o.outcome for o in self.orders).items()))

    def outcome(self, order_id: str) -> str:
        return next(o.outcome for o in self.orders if o.order_id == order_id)

    def problems(self) -> list[str]:
        return [f"{o.order_id}: {p}" for o in self.orders for p in o.problems]

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes().items())
        verdict = "consistent" if self.consistent else "NOT consistent"
        problems = "".join(f"\n  problem: {p}" for p in self.problems())
        waiting = [o for o in self.orders if o.outcome == "unfinished"]
        unfinished = "".join(f"\n  {o.order_id} waits for {o.waiting_for}" for o in waiting[:5])
        return f"{len(self.orders)} orders: {counts or 'none'}; {verdict}{problems}{unfinished}"


@dataclass(frozen=True)
class DeadLetter:
    """A record a service could not handle, parked on `<topic>.dead-letter`: who parked it,
    why, and (if it was an event at all) which event of which order."""

    topic: str
    group: str
    reason: str
    error: str
    event_type: str = ""
    order_id: str = ""


def audit(
    events: Iterable[Event],
    *,
    expected: Callable[[OrderCreated], str] | None = None,
    placed: Collection[str] = (),
    parked: Iterable[DeadLetter] = (),
) -> ShopAudit:
    """Audit the shop from the events on its topics (in any order, repeats included)."""
    seen: set[object] = set()
    repeats = 0
    facts: defaultdict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.id in seen:
            repeats += 1
            continue
        seen.add(event.id)
        order_id = getattr(event, "order_id", None)
        if type(event) in SAGA_STEPS and isinstance(order_id, str):
            facts[order_id].append(event)
    stuck: defaultdict[str, list[DeadLetter]] = defaultdict(list)
    for letter in parked:
        stuck[letter.order_id].append(letter)
    orders = [_order(o, facts[o], expected, stuck[o]) for o in sorted(facts)]
    for order_id in sorted(set(placed) - set(facts)):
        orders.append(OrderAudit(order_id, "unfinished", "publishing: it is still in the outbox"))
    return ShopAudit(tuple(orders), repeats)


def _order(
    order_id: str,
    events: list[Event],
    expected: Callable[[OrderCreated], str] | None,
    parked: list[DeadLetter],
) -> OrderAudit:
    n = Counter(SAGA_STEPS[type(event)] for event in events)
    problems = [f"{step} {n[step]} times" for step in SAGA_STEPS.values() if n[step] > 1]
    problems += _broken_rules(n, _amounts(events))
    outcome, needs = _progress(n)
    missing = [step for step in needs if not n[step]]
    created = next((e for e in events if isinstance(e, OrderCreated)), None)
    if expected is not None and created is not None and not missing:
        promised = expected(created)
        if promised != outcome:
            problems.append(f"ended {outcome}, but the rules say {promised}")
    if missing:
        waiting = " and ".join(missing)
        for letter in parked:
            waiting += f" (its {letter.event_type} is parked by {letter.group}: {letter.reason})"
        return OrderAudit(order_id, "unfinished", waiting, tuple(problems))
    return OrderAudit(order_id, outcome, "", tuple(problems))


def _amounts(events: list[Event]) -> Mapping[str, int]:
    return {
        SAGA_STEPS[type(e)]: e.amount
        for e in events
        if isinstance(e, (PaymentSuccessful, PaymentRefunded, OrderCreated))
    }


def _broken_rules(n: Counter[str], amounts: Mapping[str, int]) -> list[str]:
    broken = []
    if n["paid"] and n["declined"]:
        broken.append("both paid and declined")
    if n["shipped"] and (n["shipment failed"] or n["refunded"] or n["cancelled"]):
        broken.append("shipped, yet also failed, refunded or cancelled")
    if n["declined"] and (n["approved"] or n["shipped"] or n["shipment failed"] or n["refunded"]):
        broken.append("declined, yet approved, shipped or refunded")
    if n["refunded"] and not n["shipment failed"]:
        broken.append("refunded without a failed shipment")
    paid, refunded = amounts.get("paid"), amounts.get("refunded")
    if paid is not None and amounts.get("placed", paid) != paid:
        broken.append(f"charged {paid}, but the order was for {amounts['placed']}")
    if paid is not None and refunded is not None and refunded != paid:
        broken.append(f"refunded {refunded} of the {paid} paid")
    return broken


def _progress(n: Counter[str]) -> tuple[str, tuple[str, ...]]:
    """The outcome this order is heading for, and every step it needs to get there."""
    if n["declined"]:
        return "declined", ("placed", "cancelled", "emailed")
    if n["shipment failed"]:
        return "refunded", ("placed", "paid", "refunded", "cancelled", "emailed")
    if n["shipped"]:
        return "shipped", ("placed", "paid", "approved", "emailed")
    # Not a step of its own, so always missing: the order waits for it.
    return "unfinished", ("placed", "a shipment" if n["paid"] else "a payment")
