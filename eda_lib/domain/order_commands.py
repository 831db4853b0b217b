"""Commands for orders and their handlers (lesson 10): the write side of the orders example."""

from __future__ import annotations

from pydantic import Field

from eda_lib.cqrs.commands import Command, CommandBus
from eda_lib.domain.orders import Order
from eda_lib.sourcing.aggregate import RuleBroken
from eda_lib.sourcing.repository import Repository
from eda_lib.store.base import EventStore, StoredEvent


class PlaceOrder(Command):
    order_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    amount: int = Field(gt=0)
    currency: str = "USD"


class ApproveOrder(Command):
    order_id: str = Field(min_length=1)


class CancelOrder(Command):
    order_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class OrderHandlers:
    """Load, decide, save: one method per command."""

    def __init__(self, orders: Repository[Order]) -> None:
        self.orders = orders

    def place(self, command: PlaceOrder) -> list[StoredEvent]:
        if self.orders.store.version(self.orders.stream_id(command.order_id)):
            raise RuleBroken(
                f"order {command.order_id} already exists", fix="choose a new order id"
            )
        order = Order.place(command.order_id, command.customer_id, command.amount, command.currency)
        return self.orders.save(order)

    def approve(self, command: ApproveOrder) -> list[StoredEvent]:
        order = self.orders.load(command.order_id)
        order.approve()
        return self.orders.save(order)

    def cancel(self, command: CancelOrder) -> list[StoredEvent]:
        order = self.orders.load(command.order_id)
        order.cancel(command.reason)
        return self.orders.save(order)


def order_bus(store: EventStore) -> CommandBus:
    """A command bus for the three order commands, saving to `store`."""
    handlers = OrderHandlers(Repository(store, Order))
    return CommandBus(handlers.place, handlers.approve, handlers.cancel)
