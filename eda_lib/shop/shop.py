"""The whole shop in one process (lesson 15): five services and a read model on one broker.

Each service is a consumer group with its own idempotency store and retry policy, so a
redelivered event has its effect once and a short outage is waited out. `run` lets every
service that is up read until there is nothing left to do, a round at a time; `take_down`,
`poison` and `outage` break it on purpose, and `audit` says whether it came out consistent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Self
from uuid import UUID

from eda_lib import explorer
from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, Broker, BrokerUnavailable, Record
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.codecs import decode_message
from eda_lib.domain.orders import OrderCreated
from eda_lib.events import Event, InvalidEvent
from eda_lib.faults import BrokerFaults, ConsumerFaults
from eda_lib.messaging.consumer import Consumer
from eda_lib.resilience import InMemoryProcessedEvents, ProcessedEvents, RetryPolicy, wait
from eda_lib.shop.audit import DeadLetter, ShopAudit, audit
from eda_lib.shop.read_model import ShopOrders
from eda_lib.shop.services import ORDERS, PAYMENTS, REVENUE, TOPICS, expected_outcome
from eda_lib.shop.wiring import (
    BUSINESS_TOPICS,
    FLOW,
    RETRY,
    Service,
    build,
    check_service,
    group_of,
)
from eda_lib.store.base import EventStore
from eda_lib.store.memory import InMemoryEventStore

if TYPE_CHECKING:
    from eda_lib.tracing import Telemetry


class Shop:
    """The shop on `broker`: orders (event-sourced in `store`), payments, shipping,
    notifications, a read model and revenue analytics. Use it as `async with Shop(broker)`."""

    def __init__(
        self,
        broker: Broker,
        *,
        store: EventStore | None = None,
        retry: RetryPolicy = RETRY,
        faults: Mapping[str, ConsumerFaults] | None = None,
    ) -> None:
        self.broker = broker
        self.store = store or InMemoryEventStore()
        self.read_model = ShopOrders()
        self.down: set[str] = set()
        self.restarts = 0
        self._redriven: dict[tuple[str, int], int] = {}  # dead-letter partition -> next offset
        """Services that died (a fault on purpose) and were started again, as a process
        manager restarts a crashed process."""
        self.idempotency: dict[str, ProcessedEvents] = {}
        self.services: dict[str, Service] = {}
        for name in FLOW:
            self.idempotency[name] = InMemoryProcessedEvents()
            self.services[name] = build(
                name,
                broker,
                idempotency=self.idempotency[name],
                store=self.store,
                read_model=self.read_model,
                retry=retry,
                faults=(faults or {}).get(name),
            )
        orders = self.services["orders"].orders
        assert orders is not None
        self.orders = orders

    def __repr__(self) -> str:
        down = f", down: {', '.join(sorted(self.down))}" if self.down else ""
        return f"Shop({len(self.read_model.rows)} orders{down})"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Make the topics (3 partitions each) and start every service."""
        existing = await self.broker.topics()
        for topic in (*BUSINESS_TOPICS, REVENUE):
            if topic not in existing:
                await self.broker.create_topic(topic, partitions=3)
        for service in self.services.values():
            await service.reader.start()

    async def stop(self) -> None:
        for name, service in self.services.items():
            if name not in self.down:
                await service.reader.stop()

    def watch(self, telemetry: Telemetry) -> None:
        """Trace every service that reads with a `Consumer`, as its service name, and the
        producers it publishes with (lesson 15, section 10). Analytics, a windowed processor,
        has no consumer to watch: its lag is measured from the broker instead."""
        for name, service in self.services.items():
            if isinstance(service.reader, Consumer):
                telemetry.watch_service(service.reader, name)

    # --- the shop front -------------------------------------------------------------------

    def place(self, order_id: str, customer: str, amount: int, currency: str = "USD") -> None:
        """A customer orders: the command goes to the orders service, whose store records
        `OrderCreated`; its outbox publishes it on the next `run`."""
        self.orders.place(order_id, customer, amount, currency)

    # --- running --------------------------------------------------------------------------

    async def run(self, *, rounds: int = 40) -> dict[str, int]:
        """Let every service that is up work until a round finds nothing to do (at most
        `rounds` rounds); how many events each one processed."""
        done = dict.fromkeys(FLOW, 0)
        for _ in range(rounds):
            progress = await self.publish_orders()
            # Side by side, as separate services would; on Kafka a round then waits for one
            # idle poll, not one per service.
            up = [name for name in self.services if name not in self.down]
            reads = await asyncio.gather(*(self._read(self.services[name]) for name in up))
            for name in up:  # one that died is started again, from its last commit
                reader = self.services[name].reader
                if isinstance(reader, Consumer) and not reader.running:
                    await reader.start()
                    self.restarts += 1
            for name, read in zip(up, reads, strict=True):
                done[name] += read
                progress += read
            if not progress and not self.orders.outbox.pending():
                break
            if not progress:  # the broker is down: the outbox tries again a second later
                await wait(self.broker.clock, 1.0)
        return done

    @staticmethod
    async def _read(service: Service) -> int:
        reader = service.reader
        if isinstance(reader, Consumer):
            return (await reader.run(until_idle=True)).processed
        try:
            return (await reader.run()).read
        except BrokerUnavailable:  # its results were refused: restart, as after a crash
            await reader.crash()
            await reader.start()
            return 0

    async def publish_orders(self) -> int:
        """The orders service's outbox: publish what its store holds and the topic does not."""
        if "orders" in self.down:
            return 0
        try:
            return (await self.orders.outbox.publish_pending()).published
        except BrokerUnavailable:  # the store keeps them: published once the broker is back
            return 0

    def retries(self) -> dict[str, int]:
        """Per service: handler attempts that failed and were tried again."""
        return {
            name: service.reader.retries
            for name, service in self.services.items()
            if isinstance(service.reader, Consumer)
        }

    # --- breaking it ----------------------------------------------------------------------

    async def take_down(self, service: str) -> None:
        """Stop a service (it leaves its group); what it would have read waits as lag."""
        check_service(service)
        if service not in self.down:
            await self.services[service].reader.stop()
            self.down.add(service)

    async def bring_up(self, service: str) -> None:
        """Start a stopped service: it goes on from its group's committed offsets."""
        check_service(service)
        if service in self.down:
            await self.services[service].reader.start()
            self.down.discard(service)

    async def poison(self, topic: str = PAYMENTS, value: bytes = b'{"type": "Payment') -> None:
        """Publish a record no service can read (here: JSON cut off half way)."""
        await self.broker.produce(topic, value, key=b"poison", producer="a-broken-client")

    def outage(self, seconds: float) -> None:
        """Take the broker down for `seconds` of its clock: every send fails meanwhile (only
        the in-memory broker can do this; a real broker is stopped instead)."""
        if not isinstance(self.broker, InMemoryBroker):
            raise TypeError("outage() needs the in-memory broker; on Kafka, stop the broker itself")
        if self.broker.faults is None:
            self.broker.faults = BrokerFaults()
        self.broker.faults.outage_until = self.broker.clock.now() + timedelta(seconds=seconds)

    # --- looking at it --------------------------------------------------------------------

    async def events(self) -> list[Event]:
        """Every event on the shop's business topics (repeats included, poison left out)."""
        return await shop_events(self.broker)

    async def audit(self) -> ShopAudit:
        """`audit` of the shop's topics, against its rules, the orders its store holds, and what
        its services dead-lettered."""
        return audit(
            await self.events(),
            expected=expected_outcome,
            placed=[order.order_id for order in await self.placed_orders()],
            parked=await self.dead_letters(),
        )

    async def placed_orders(self) -> list[OrderCreated]:
        """Every order the orders service has taken, from its event store."""
        found: list[OrderCreated] = []
        position = 1
        while page := self.store.read_all(position, 1_000):  # bounded: the store has an end
            found += [s.event for s in page if isinstance(s.event, OrderCreated)]
            position = page[-1].position + 1
        return found

    async def story(self, order_id: str) -> list[Event]:
        """Every event of one order, each under its cause: its saga, told by its correlation
        id (the id of the order's `OrderCreated`)."""
        return await explorer.story(self.broker, BUSINESS_TOPICS, await self._start_of(order_id))

    async def _start_of(self, order_id: str) -> UUID:
        for event in await explorer.events(self.broker, ORDERS, skip_unreadable=True):
            if getattr(event, "order_id", None) == order_id and event.causation_id is None:
                return event.id
        raise KeyError(f"no order '{order_id}' on {ORDERS}. Fix: place it, then run the shop")

    async def dead_letters(self) -> list[DeadLetter]:
        """What each service could not handle, with the reason it gave."""
        letters = []
        topics = await self.broker.topics()
        for topic in BUSINESS_TOPICS:
            parked = f"{topic}{DEAD_LETTER_SUFFIX}"
            for number in range(topics.get(parked, 0)):
                for record in await self.broker.read(parked, number):
                    letters.append(_dead_letter(self.broker, topic, record))
        return sorted(letters, key=lambda letter: (letter.topic, letter.group))

    async def redrive(self, reasons: Collection[str] = ("handler_error",)) -> int:
        """Put back on its topic each parked record whose reason was passing (by default a
        handler that kept failing, as in an outage), once the cause is gone; a record that can
        never be read (`not_json`, ...) stays parked. Kafka has no redrive of its own: an
        operator's tool does this. Readers that had handled a record skip it by its id; the one
        that parked it handles it now. How far each dead-letter partition was redriven is kept,
        so a record goes back once. Returns how many went back."""
        topics = await self.broker.topics()
        sent = 0
        for topic in BUSINESS_TOPICS:
            parked = f"{topic}{DEAD_LETTER_SUFFIX}"
            for number in range(topics.get(parked, 0)):
                start = self._redriven.get((parked, number), 0)
                for record in await self.broker.read(parked, number, start=start, limit=10_000):
                    self._redriven[parked, number] = record.offset + 1
                    if dict(record.headers).get("dlt-reason", b"").decode() in reasons:
                        original = tuple(h for h in record.headers if not h[0].startswith("dlt-"))
                        await self.broker.produce(
                            topic,
                            record.value,
                            key=record.key,
                            headers=original,
                            producer="redrive",
                        )
                        sent += 1
        return sent

    async def lag(self) -> dict[str, int]:
        """Per service: events on its topics that its group has not yet committed."""
        state = await self.broker.describe(TOPICS)
        lags = {group.group: group.total_lag for group in state.groups}
        return {name: lags.get(group_of(name), 0) for name in FLOW}


async def shop_events(broker: Broker) -> list[Event]:
    """Every event on the shop's business topics (repeats included, poison left out)."""
    found: list[Event] = []
    existing = await broker.topics()
    for topic in BUSINESS_TOPICS:
        if topic in existing:
            found += await explorer.events(broker, topic, limit=100_000, skip_unreadable=True)
    return found


def _dead_letter(broker: Broker, topic: str, record: Record) -> DeadLetter:
    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
    try:
        event: Event | None = decode_message(record.value, record.headers)
    except InvalidEvent:
        event = None
    return DeadLetter(
        topic,
        headers.get("dlt-group", "?"),
        headers.get("dlt-reason", "?"),
        headers.get("dlt-error", ""),
        "" if event is None else event.event_type,
        str(getattr(event, "order_id", "")),
    )
