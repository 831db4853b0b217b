"""Lesson 15's shop with its saga orchestrated: the same rules and the same events as `Shop`, but
the participants only do what the orchestrator's commands say, and tell it what happened.

Each participant is a consumer group on `COMMANDS` that takes the commands of its own steps and
ignores the rest; each publishes what it did to `EVENTS`, with an id derived from the command's
(`stable_id=True`), so a command handled twice publishes the same event twice. The orders
service is event-sourced, as in `Shop`: its outbox publishes its store to `EVENTS`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from eda_lib import explorer
from eda_lib.brokers.base import Broker
from eda_lib.domain.orders import OrderCreated, OrderShipped
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful, format_money
from eda_lib.events import Event
from eda_lib.explorer import events as read_events
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer
from eda_lib.resilience import InMemoryProcessedEvents
from eda_lib.shop.audit import ShopAudit, audit
from eda_lib.shop.events import CustomerEmailed, PaymentRefunded, ShipmentFailed
from eda_lib.shop.orchestrator import (
    COMMANDS,
    EVENTS,
    SAGA_TOPICS,
    Orchestrator,
    RefundDeclined,
    RefundPolicy,
    SagaCommand,
    SagaParked,
    retry_then_park,
)
from eda_lib.shop.services import (
    CARD_LIMITS,
    CARRIER_LIMIT,
    OrderService,
    expected_outcome,
    payment_id,
)
from eda_lib.store.base import EventStore
from eda_lib.store.memory import InMemoryEventStore


@dataclass
class PaymentDesk:
    """Charges and refunds when told to. `declines` breaks refunds on purpose: for an order id,
    how many of its refunds the bank declines before it pays one."""

    producer: Producer
    declines: dict[str, int] = field(default_factory=dict)
    card_limits: Mapping[str, int] = field(default_factory=lambda: dict(CARD_LIMITS))

    async def on_command(self, command: SagaCommand) -> None:
        money = {
            "payment_id": payment_id(command.order_id),
            "order_id": command.order_id,
            "amount": command.amount,
            "currency": command.currency,
        }
        reply: Event
        if command.step == "charge":
            limit = self.card_limits.get(command.customer_id, 0)
            if command.amount > limit:
                shown = format_money(limit, command.currency)
                why = f"card declined: over {command.customer_id}'s limit of {shown}"
                reply = command.follow_up(PaymentFailed, stable_id=True, reason=why, **money)
            else:
                reply = command.follow_up(PaymentSuccessful, stable_id=True, **money)
        elif command.step == "refund":
            if self.declines.get(command.order_id, 0) > 0:
                self.declines[command.order_id] -= 1
                why = "the bank refused it: the card account is closed"
                reply = command.follow_up(RefundDeclined, stable_id=True, reason=why, **money)
            else:
                why = command.note or "refund requested"
                reply = command.follow_up(PaymentRefunded, stable_id=True, reason=why, **money)
        else:
            return  # another participant's step
        await self.producer.send(EVENTS, reply)


@dataclass
class ShippingDesk:
    """Ships when told to, unless the parcel is worth more than the carrier insures."""

    producer: Producer
    carrier_limit: int = CARRIER_LIMIT

    async def on_command(self, command: SagaCommand) -> None:
        if command.step != "ship":
            return
        reply: Event
        if command.amount > self.carrier_limit:
            shown = format_money(self.carrier_limit, command.currency)
            reply = command.follow_up(
                ShipmentFailed,
                stable_id=True,
                order_id=command.order_id,
                payment_id=payment_id(command.order_id),
                amount=command.amount,
                currency=command.currency,
                reason=f"worth more than the carrier insures ({shown})",
            )
        else:
            reply = command.follow_up(OrderShipped, stable_id=True, order_id=command.order_id)
        await self.producer.send(EVENTS, reply)


@dataclass
class MailDesk:
    """Emails the customer what the command's note says."""

    producer: Producer

    async def on_command(self, command: SagaCommand) -> None:
        if command.step == "email":
            email = command.follow_up(
                CustomerEmailed, stable_id=True, order_id=command.order_id, about=command.note
            )
            await self.producer.send(EVENTS, email)


class OrderDesk(OrderService):
    """The orders service, event-sourced as in `Shop`: it approves or cancels an order when told
    to (the `Order` aggregate's rules make a repeat record nothing)."""

    def on_command(self, command: SagaCommand) -> None:
        if command.step not in ("approve", "cancel"):
            return
        order = self.orders.load(command.order_id)
        with order.caused_by(command):
            if command.step == "approve":
                order.approve()
            else:
                order.cancel(command.note)
        self.orders.save(order)


class OrchestratedShop:
    """The shop on `broker`, its saga run by an `Orchestrator` whose log is `saga_log`. Use it as
    `async with OrchestratedShop(broker)`; `declines` breaks refunds (see `PaymentDesk`)."""

    def __init__(
        self,
        broker: Broker,
        *,
        saga_log: EventStore | None = None,
        declines: Mapping[str, int] | None = None,
        policy: RefundPolicy = retry_then_park,
    ) -> None:
        self.broker = broker
        self.saga_log = saga_log or InMemoryEventStore()
        self.store = InMemoryEventStore()  # the orders service's own
        self.policy = policy
        self.orders = OrderDesk(self.store, Producer(broker, "orders"), topic=EVENTS)
        self.payments = PaymentDesk(Producer(broker, "payments"), dict(declines or {}))
        desks = {
            "orders": self.orders.on_command,
            "payments": self.payments.on_command,
            "shipping": ShippingDesk(Producer(broker, "shipping")).on_command,
            "notifications": MailDesk(Producer(broker, "notifications")).on_command,
        }
        self.participants = {
            name: Consumer(
                broker,
                f"saga-{name}",
                COMMANDS,
                [handler],
                name=name,
                idempotency=InMemoryProcessedEvents(),
                start="earliest",
            )
            for name, handler in desks.items()
        }
        self.orchestrator = Orchestrator(broker, self.saga_log, policy=policy)
        self.restarts = 0

    def __repr__(self) -> str:
        return f"OrchestratedShop({len(self.orchestrator.order_ids())} sagas)"

    async def __aenter__(self) -> OrchestratedShop:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Make the two topics (3 partitions each) and start every reader."""
        existing = await self.broker.topics()
        for topic in SAGA_TOPICS:
            if topic not in existing:
                await self.broker.create_topic(topic, partitions=3)
        for reader in self._readers():
            await reader.start()

    async def stop(self) -> None:
        for reader in self._readers():
            await reader.stop()

    def _readers(self) -> list[Consumer]:
        return [*self.participants.values(), self.orchestrator.reader]

    def place(self, order_id: str, customer: str, amount: int, currency: str = "USD") -> None:
        """A customer orders: the orders service records `OrderCreated`, which starts a saga."""
        self.orders.place(order_id, customer, amount, currency)

    async def run(self, *, rounds: int = 60) -> int:
        """Let everyone work until a round finds nothing to do (at most `rounds` rounds); how
        many events and commands were read."""
        done = 0
        for _ in range(rounds):
            progress = (await self.orders.outbox.publish_pending()).published
            progress += await self.orchestrator.publish()
            reads = await asyncio.gather(
                *(reader.run(until_idle=True) for reader in self._readers())
            )
            progress += sum(report.processed for report in reads)
            done += progress
            if not progress:
                break
        return done

    async def restart_orchestrator(self, *, forget_commits: bool = False) -> Orchestrator:
        """The orchestrator dies and a new one starts on the same log, with no memory of the ids
        it handled; with `forget_commits`, its group's commits are undone too, so it reads
        every event again (the worst case)."""
        await self.orchestrator.reader.stop()
        self.orchestrator = Orchestrator(self.broker, self.saga_log, policy=self.policy)
        await self.orchestrator.reader.start()
        if forget_commits:
            reader = self.orchestrator.reader
            for partition in await reader.assignment():
                await reader.seek(partition, 0)
        self.restarts += 1
        return self.orchestrator

    async def events(self) -> list[Event]:
        """Every participant event (repeats included): what the audit reads."""
        return await read_events(self.broker, EVENTS, limit=100_000, skip_unreadable=True)

    async def story(self, order_id: str) -> list[Event]:
        """Every event and command of one order's saga, each after its cause."""
        for event in await self.events():
            if isinstance(event, OrderCreated) and event.order_id == order_id:
                return await explorer.story(self.broker, (EVENTS, COMMANDS), event.id)
        raise KeyError(f"no order '{order_id}' on {EVENTS}. Fix: place it, then run the shop")

    async def parked(self) -> list[SagaParked]:
        """What an operator watches for on the orchestrator's log: sagas that need a person."""
        found = await read_events(self.broker, COMMANDS, limit=100_000, skip_unreadable=True)
        return [event for event in found if isinstance(event, SagaParked)]

    async def audit(self) -> ShopAudit:
        """The same `audit` as `Shop.audit`, of the participants' events."""
        placed = [
            s.event.order_id for s in self.store.read_all() if isinstance(s.event, OrderCreated)
        ]
        return audit(await self.events(), expected=expected_outcome, placed=placed)
