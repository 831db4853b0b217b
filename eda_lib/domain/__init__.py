"""The course's example domains: payments (lessons 1.1 and 5), orders (chapter 4; lessons 09 and
10), a bank account (lesson 05), and IoT telemetry with notifications (lesson 03)."""

from eda_lib.domain.accounts import (
    AccountClosed,
    AccountOpened,
    AccountStatements,
    BankAccount,
    MoneyDeposited,
    MoneyWithdrawn,
    Statement,
)
from eda_lib.domain.order_commands import (
    ApproveOrder,
    CancelOrder,
    OrderHandlers,
    PlaceOrder,
    order_bus,
)
from eda_lib.domain.order_views import OrderRow, OrderSummaries, SQLiteOrderSummaries
from eda_lib.domain.orders import Order, OrderApproved, OrderCancelled, OrderCreated, OrderShipped
from eda_lib.domain.payments import (
    LargePaymentFlagged,
    PaymentFailed,
    PaymentSuccessful,
    PaymentUpdated,
    format_money,
)
from eda_lib.domain.telemetry import CustomerNotified, SensorReading, TemperatureAlert, burst

__all__ = [
    "AccountClosed",
    "AccountOpened",
    "AccountStatements",
    "ApproveOrder",
    "BankAccount",
    "CancelOrder",
    "CustomerNotified",
    "LargePaymentFlagged",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "Order",
    "OrderApproved",
    "OrderCancelled",
    "OrderCreated",
    "OrderHandlers",
    "OrderRow",
    "OrderShipped",
    "OrderSummaries",
    "PaymentFailed",
    "PaymentSuccessful",
    "PaymentUpdated",
    "PlaceOrder",
    "SQLiteOrderSummaries",
    "SensorReading",
    "Statement",
    "TemperatureAlert",
    "burst",
    "format_money",
    "order_bus",
]
