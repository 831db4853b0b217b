"""Is the shop consistent? An audit of what its topics hold, independent of every service.

It reads the events themselves (each id once: a repeat delivered after a crash is the same
event) and checks the saga's promises per order: one payment outcome; a declined order is
cancelled; a paid order is shipped once, or refunded once and cancelled; the customer is emailed
once. An order still on its way is "unfinished"; a broken promise is a problem.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.shop.events import CustomerEmailed, PaymentRefunded, ShipmentFailed

_STEPS: dict[type[Event], str] = {
    OrderCreated: "placed",
    PaymentSuccessful: "paid",
    PaymentFailed: "declined",
    OrderApproved: "approved",
    OrderShipped: "shipped",
    ShipmentFailed: "shipment failed",
    PaymentRefunded: "refunded",
    OrderCancelled: "cancelled",
    CustomerEmailed: "emailed",
}


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

    def problems(self) -> list[str]:
        return [f"{o.order_id}: {p}" for o in self.orders for p in o.problems]

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes().items())
        verdict = "consistent" if self.consistent else "NOT consistent"
        problems = "".join(f"\n  problem: {p}" for p in self.problems())
        waiting = [o for o in self.orders if o.outcome == "unfinished"]
        unfinished = "".join(f"\n  {o.order_id} waits for {o.waiting_for}" for o in waiting[:5])
        return f"{len(self.orders)} orders: {counts or 'none'}; {verdict}{problems}{unfinished}"


def audit(events: Iterable[Event]) -> ShopAudit:
    """Audit the shop from the events on its topics (in any order, repeats included)."""
    seen: set[object] = set()
    repeats = 0
    steps: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if event.id in seen:
            repeats += 1
            continue
        seen.add(event.id)
        step = _STEPS.get(type(event))
        order_id = getattr(event, "order_id", None)
        if step is not None and isinstance(order_id, str):
            steps[order_id][step] += 1
    return ShopAudit(tuple(_order(o, steps[o]) for o in sorted(steps)), repeats)


def _order(order_id: str, n: Counter[str]) -> OrderAudit:
    problems = [
        f"{step} {n[step]} times" for step in _STEPS.values() if n[step] > 1 and step != "placed"
    ]
    if n["placed"] != 1:
        problems.append(f"placed {n['placed']} times")
    if n["paid"] and n["declined"]:
        problems.append("both paid and declined")
    if n["shipped"] and (n["shipment failed"] or n["refunded"] or n["cancelled"]):
        problems.append("shipped, yet also failed, refunded or cancelled")
    if n["declined"] and (n["shipped"] or n["shipment failed"] or n["refunded"]):
        problems.append("declined, yet shipped or refunded")
    if n["refunded"] and not n["shipment failed"]:
        problems.append("refunded without a failed shipment")
    outcome, needs = _progress(n)
    missing = [step for step in needs if not n[step]]
    if missing:
        return OrderAudit(order_id, "unfinished", " and ".join(missing), tuple(problems))
    return OrderAudit(order_id, outcome, "", tuple(problems))


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
