"""The shop's read model (lesson 15): one row per order, fed from four topics.

Events of one order come from different topics, so they can arrive in any order between topics
(an order's cancellation on the orders topic may come before the failed payment that caused it
on the payments topic). The row therefore records which facts it has seen, and its status is
worked out from that set, not from the last event to arrive: any arrival order gives the same
row. (Lesson 10's read model, which takes the last event's word, gets this wrong on purpose.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eda_lib.cqrs.projections import Projection
from eda_lib.domain.orders import OrderCancelled, OrderCreated
from eda_lib.domain.payments import format_money
from eda_lib.events import Event
from eda_lib.shop.events import SAGA_STEPS

# The furthest fact decides the status: later steps of the saga win over earlier ones.
_PRECEDENCE = (
    "cancelled",
    "refunded",
    "shipment failed",
    "shipped",
    "declined",
    "approved",
    "paid",
    "placed",
)


@dataclass
class ShopOrder:
    order_id: str
    customer: str = "?"
    amount: str = "?"
    facts: set[str] = field(default_factory=set)
    why: str = ""

    @property
    def status(self) -> str:
        return next((fact for fact in _PRECEDENCE if fact in self.facts), "unknown")


class ShopOrders(Projection):
    """Where each order stands, for the shop's web page and its support desk."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, ShopOrder] = {}

    def __repr__(self) -> str:
        return f"ShopOrders({len(self.rows)} orders)"

    def apply(self, event: Event) -> None:
        fact = SAGA_STEPS.get(type(event))
        order_id = getattr(event, "order_id", None)
        if fact is None or not isinstance(order_id, str):
            return
        row = self.rows.setdefault(order_id, ShopOrder(order_id))
        row.facts.add(fact)
        if isinstance(event, OrderCreated):
            row.customer = event.customer_id
            row.amount = format_money(event.amount, event.currency)
        elif isinstance(event, OrderCancelled):
            row.why = event.reason

    def clear(self) -> None:
        self.rows.clear()

    def statuses(self) -> dict[str, str]:
        return {order_id: row.status for order_id, row in sorted(self.rows.items())}

    def table(self) -> list[dict[str, object]]:
        return [
            {
                "order": row.order_id,
                "customer": row.customer,
                "amount": row.amount,
                "status": row.status,
                "emailed": "emailed" in row.facts,
                "why": row.why,
            }
            for _, row in sorted(self.rows.items())
        ]
