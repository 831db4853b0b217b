"""The oracle for an order read model: the aggregates themselves, replayed from the store."""

from __future__ import annotations

from eda_lib.domain import Order
from eda_lib.sourcing import Repository
from eda_lib.store import EventStore


def statuses_from_aggregates(store: EventStore) -> dict[str, str]:
    """Each order's status, replayed from its own stream: independent of any projection."""
    orders = Repository(store, Order)
    ids = sorted({s.stream_id.removeprefix("order-") for s in store.read_all()})
    return {order_id: orders.load(order_id).status for order_id in ids}
