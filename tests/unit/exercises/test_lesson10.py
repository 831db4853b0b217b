"""Lesson 10's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.cqrs import Projection
from eda_lib.domain import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.events import Event
from eda_lib.exercises.lesson10 import check_key_function, check_revenue_projection


class Revenue(Projection):  # the notebook's solution
    def __init__(self) -> None:
        super().__init__()
        self.revenue: dict[str, int] = {}
        self.orders: dict[str, tuple[str, int]] = {}
        self.approved: set[str] = set()

    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
        elif isinstance(event, OrderApproved):
            self.approved.add(event.order_id)
            self.add(event.order_id, +1)
        elif isinstance(event, OrderCancelled) and event.order_id in self.approved:
            self.approved.discard(event.order_id)
            self.add(event.order_id, -1)

    def add(self, order_id: str, sign: int) -> None:
        customer, amount = self.orders[order_id]
        self.revenue[customer] = self.revenue.get(customer, 0) + sign * amount

    def clear(self) -> None:
        self.revenue.clear()
        self.orders.clear()
        self.approved.clear()


class CountsApprovalsForGood(Revenue):  # the notebook's old solution: a refund still counts
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
        elif isinstance(event, OrderApproved):
            self.add(event.order_id, +1)


class TakesOffEveryCancellation(Revenue):  # also the ones never approved
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
        elif isinstance(event, OrderApproved):
            self.add(event.order_id, +1)
        elif isinstance(event, OrderCancelled):
            self.add(event.order_id, -1)


class CountsEverything(Revenue):
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.revenue[event.customer_id] = self.revenue.get(event.customer_id, 0) + event.amount


class PlacedMinusCancelled(Revenue):
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
            self.revenue[event.customer_id] = self.revenue.get(event.customer_id, 0) + event.amount
        elif isinstance(event, OrderCancelled):
            customer, amount = self.orders[event.order_id]
            self.revenue[customer] -= amount


def test_revenue_projection() -> None:
    assert check_revenue_projection(Revenue)
    assert "expected" in repr(check_revenue_projection(CountsEverything))
    assert "expected" in repr(check_revenue_projection(PlacedMinusCancelled))

    class EveryApprovalAmountZero(Revenue):  # counts approvals, forgets the amount
        def apply(self, event: Event) -> None:
            if isinstance(event, OrderCreated):
                self.orders[event.order_id] = (event.customer_id, 0)
            elif isinstance(event, OrderApproved):
                customer, amount = self.orders[event.order_id]
                self.revenue[customer] = self.revenue.get(customer, 0) + amount

    assert "expected" in repr(check_revenue_projection(EveryApprovalAmountZero))
    refund = repr(check_revenue_projection(CountsApprovalsForGood))
    assert "approved and then cancelled, still counts" in refund
    assert "expected" in repr(check_revenue_projection(TakesOffEveryCancellation))

    class NeverCleared(Revenue):
        def clear(self) -> None:
            pass

    assert "after a rebuild" in repr(check_revenue_projection(NeverCleared))

    class ClearsOnlyRevenue(Revenue):  # the stub's own clear(), kept beside a fuller apply
        def clear(self) -> None:
            self.revenue.clear()

    leftover = check_revenue_projection(ClearsOnlyRevenue)
    assert not leftover and "kept what it learned before the rebuild" in leftover.message


async def test_key_function() -> None:
    assert await check_key_function(lambda event: event.subject)
    by_type = await check_key_function(lambda event: event.event_type)
    assert "wrong for" in repr(by_type)
    one_key = await check_key_function(lambda event: "all")
    assert "one consumer does it all" in repr(one_key)
    random_key = await check_key_function(lambda event: str(event.id))
    assert "different partitions" in repr(random_key)
    not_text = repr(await check_key_function(lambda event: event.id))
    assert "is UUID(" in not_text and "return a str" in not_text
    assert "not a str" in repr(await check_key_function(lambda event: len(event.subject)))
    for derived in (
        lambda event: str(hash(event.subject)),
        lambda event: str(hash(event.subject) % 3),  # any key made from hash() changes
        lambda event: hex(abs(hash(event.subject)))[:6],
    ):
        salted = repr(await check_key_function(derived))
        assert "change when Python's hash() does" in salted
    assert await check_key_function(lambda event: event.subject.encode())  # bytes are a key too
