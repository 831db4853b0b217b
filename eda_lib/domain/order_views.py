"""Read models of orders (lesson 10): one in memory, one in a SQLite table, built from the same
events by the same rules. Each is deliberately naive about order: an approval that arrives
before its order was created makes a row of its own, which the creation then overwrites, so
events that arrive out of order leave a wrong read model, as in the course's CQRS example."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from eda_lib.cqrs.projections import Projection, SQLiteProjection
from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.events import Event


@dataclass
class OrderRow:
    order_id: str
    customer_id: str = "?"
    amount: int = 0
    status: str = "unknown"


class OrderSummaries(Projection):
    """One row per order: who, how much, and where it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, OrderRow] = {}

    def __repr__(self) -> str:
        return f"OrderSummaries({len(self.rows)} orders, at position {self.position})"

    def apply(self, event: Event) -> None:
        match event:
            case OrderCreated():
                self.rows[event.order_id] = OrderRow(
                    event.order_id, event.customer_id, event.amount, "created"
                )
            case OrderApproved():
                self.rows.setdefault(event.order_id, OrderRow(event.order_id)).status = "approved"
            case OrderCancelled():
                self.rows.setdefault(event.order_id, OrderRow(event.order_id)).status = "cancelled"

    def clear(self) -> None:
        self.rows.clear()

    def status(self, order_id: str) -> str | None:
        row = self.rows.get(order_id)
        return None if row is None else row.status

    def statuses(self) -> dict[str, str]:
        return {order_id: row.status for order_id, row in sorted(self.rows.items())}

    def counts(self) -> Counter[str]:
        """How many orders are in each status."""
        return Counter(row.status for row in self.rows.values())

    def table(self) -> list[dict[str, object]]:
        return [asdict(row) for _, row in sorted(self.rows.items())]


class SQLiteOrderSummaries(SQLiteProjection):
    """The same rows in a SQLite table, `order_summaries`, with its checkpoint beside it."""

    name = "order_summaries"
    tables = ("order_summaries",)
    schema = """
    CREATE TABLE IF NOT EXISTS order_summaries (
        order_id    TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL DEFAULT '?',
        amount      INTEGER NOT NULL DEFAULT 0,
        status      TEXT NOT NULL
    );
    """

    def apply(self, event: Event) -> None:
        match event:
            case OrderCreated():
                self.db.execute(
                    "INSERT OR REPLACE INTO order_summaries VALUES (?, ?, ?, 'created')",
                    (event.order_id, event.customer_id, event.amount),
                )
            case OrderApproved() | OrderCancelled():
                status = "approved" if isinstance(event, OrderApproved) else "cancelled"
                self.db.execute(
                    "INSERT INTO order_summaries (order_id, status) VALUES (?, ?)"
                    " ON CONFLICT (order_id) DO UPDATE SET status = excluded.status",
                    (event.order_id, status),
                )

    def statuses(self) -> dict[str, str]:
        rows = self.db.execute("SELECT order_id, status FROM order_summaries ORDER BY order_id")
        return dict(rows.fetchall())

    def table(self) -> list[dict[str, object]]:
        cursor = self.db.execute("SELECT * FROM order_summaries ORDER BY order_id")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]
