"""Lesson 08's grown topic: what adding partitions does to the order of one key's events.

A keyed topic of 3 partitions gets a 4th. Records already stored stay where they are; from then
on each key is hashed by 4, so most keys' next events land on another partition than their
earlier ones, and Kafka keeps order only within a partition. `grow_topic` writes each order's
`OrderCreated`, grows the topic, writes each order's `OrderApproved`, and lets a group of two
members handle them one after the other, the owner of the new partition first: a fast member
beside a slow one, taken to the extreme (real members run at once and interleave their work).
With `drain_first`, the group handles everything before the topic grows, the safe way to grow.
It runs on either broker; only the group's handling order is staged, never the placement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eda_lib.brokers.base import Broker
from eda_lib.domain.orders import OrderApproved, OrderCreated
from eda_lib.events import Event
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.producer import Producer


@dataclass(frozen=True)
class Growth:
    """Where each order's two events went, and the order the group handled them in."""

    created_on: dict[str, int]  # order id -> partition of its OrderCreated (3 partitions)
    approved_on: dict[str, int]  # order id -> partition of its OrderApproved (4 partitions)
    handled: list[tuple[str, str]]  # (order id, event type), in the order the group handled
    owner: dict[int, str]  # partition -> the member that owned it after the growth
    first: str  # the member that ran first: the owner of the new partition

    @property
    def crossed(self) -> list[str]:
        """Orders created on a partition of the member that ran second and approved on one of
        the member that ran first: since one member ran to its end before the other began,
        handled out of order whatever the order within a member."""
        return [
            o
            for o in self.created_on
            if self.owner[self.created_on[o]] != self.first
            and self.owner[self.approved_on[o]] == self.first
        ]

    @property
    def moved(self) -> list[str]:
        """Orders whose approval went to another partition than their creation."""
        return [o for o in self.created_on if self.created_on[o] != self.approved_on[o]]

    @property
    def out_of_order(self) -> list[str]:
        """Orders whose approval the group handled before their creation."""
        when: dict[tuple[str, str], int] = {}
        for n, handling in enumerate(self.handled):
            when.setdefault(handling, n)  # the first time, if one came again
        never = len(self.handled)
        return [
            o
            for o in self.created_on
            if when.get((o, "OrderApproved"), never) < when.get((o, "OrderCreated"), never)
        ]


async def grow_topic(
    broker: Broker, topic: str, group: str, orders: Sequence[str], *, drain_first: bool
) -> Growth:
    """Create `topic` (3 partitions), send each order's creation, grow it to 4, send each
    order's approval, and let `group` (two members) handle all: see the module docstring."""
    await broker.create_topic(topic, partitions=3)
    shop = Producer(broker, "order-service")
    handled: list[tuple[str, str]] = []

    def note(event: Event) -> None:
        handled.append((event.subject or "", event.event_type))

    packers = [
        Consumer(broker, group, topic, note, name=f"packer-{n}", start="earliest") for n in (1, 2)
    ]
    for packer in packers:
        await packer.start()
    created = {
        o: (await shop.send(topic, OrderCreated(order_id=o, customer_id="ada", amount=1000)))
        for o in orders
    }
    if drain_first:
        for packer in packers:
            await packer.run()
    await broker.add_partitions(topic, 4)
    approved = {o: await shop.send(topic, OrderApproved(order_id=o)) for o in orders}
    owner = {tp.partition: p.name for p in packers for tp in await broker.assignment(group, p.name)}
    first = owner[3]
    for packer in sorted(packers, key=lambda p: p.name != first):
        await packer.run()
    for packer in packers:
        await packer.stop()
    return Growth(
        {o: r.partition for o, r in created.items()},
        {o: r.partition for o, r in approved.items()},
        handled,
        owner,
        first,
    )
