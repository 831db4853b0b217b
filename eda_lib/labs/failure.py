"""Lesson 12's failure lab: the same faults under each delivery semantics, side by side.

Every control of its widget is one of these methods, so a notebook can do the same in code.
`eda_lib.viz.draw_lab` draws it; `eda_lib.labs.scoreboard` keeps its score.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Literal

from eda_lib.brokers.base import BrokerState
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.faults import BrokerFaults, ConsumerFaults
from eda_lib.labs.scoreboard import LabCounters, tally
from eda_lib.messaging import Consumer, ConsumerCrash, Producer
from eda_lib.resilience import InMemoryProcessedEvents, ProcessedEvents, RetryPolicy

Semantics = Literal["at-most-once", "at-least-once", "effect-once"]


class FailureLab:
    """Lesson 12's lab: a shop publishes payments to a few topics; several consumer groups react.
    Switch broker faults and consumer faults on and off, choose the delivery semantics, publish,
    step, and watch the counters: which patterns keep every effect exactly once?

    Every control of the widget is one of these methods, so a notebook can do the same in code.
    """

    def __init__(
        self,
        *,
        topics: tuple[str, ...] = ("payments",),
        partitions: int = 3,
        groups: tuple[str, ...] = ("shipping", "receipts", "analytics"),
        capacity: int = 10,
        seed: int = 0,
    ) -> None:
        self.clock = VirtualClock()
        self.faults = BrokerFaults(seed=seed)
        self.broker = InMemoryBroker(seed=seed, clock=self.clock, faults=self.faults)
        self.topics = topics
        self.partitions = partitions
        self.groups = groups
        self.capacity = capacity
        self.producer = Producer(
            self.broker, "shop", retry=RetryPolicy(max_attempts=4, base_delay=0.5, seed=seed)
        )
        self.effects: dict[str, Counter[str]] = {g: Counter() for g in groups}
        self.semantics: Semantics = "at-least-once"
        self.poison_every = 0  # every n-th event is one no handler can process (0: none)
        self.crash_chance = 0.0  # chance a consumer dies while handling an event
        self.down: set[str] = set()
        self.slowness = 0.0  # simulated seconds each event takes a consumer
        self._revive: dict[str, tuple[int | None, int | None]] = {}
        self.history: list[tuple[int, int]] = []  # (step, total lag)
        self._rng = random.Random(seed)
        self._published = 0
        self._consumers: dict[str, Consumer] = {}
        self._ready = False

    async def _setup(self) -> None:
        if self._ready:
            return
        self._ready = True
        for topic in self.topics:
            await self.broker.create_topic(topic, partitions=self.partitions)
        for group in self.groups:
            self._consumers[group] = self._consumer(group)
            await self._consumers[group].start()

    def _consumer(self, group: str) -> Consumer:
        effects = self.effects[group]

        # A crash strikes half the time before the effect (mid-handler) and half the time after
        # it (before the commit): the two places where the delivery semantics differ.
        def ship(event: PaymentSuccessful) -> None:
            if self._rng.random() < self.crash_chance / 2:
                raise ConsumerCrash("died while handling, before the effect")
            effects[str(event.id)] += 1

        def poison(event: PaymentFailed) -> None:
            raise ValueError(f"poison: {event.payment_id} cannot be processed")

        def dies(event: Event) -> bool:
            return self._rng.random() < self.crash_chance / 2

        idempotency: ProcessedEvents | None = None
        if self.semantics == "effect-once":
            previous = self._consumers.get(group)
            # The store outlives the process: a restarted consumer keeps what it applied.
            kept = None if previous is None else previous.idempotency
            idempotency = kept if kept is not None else InMemoryProcessedEvents()
        return Consumer(
            self.broker,
            group,
            list(self.topics),
            [ship, poison],
            name=f"{group}-1",
            commit="before" if self.semantics == "at-most-once" else "each",
            idempotency=idempotency,
            retry=RetryPolicy(max_attempts=2, base_delay=0.1),
            faults=ConsumerFaults(crash_before_commit=dies),
            start="earliest",
        )

    # --- controls -----------------------------------------------------------------------

    def set_fault(
        self, name: Literal["drop", "duplicate", "reorder", "outage"], value: float | bool
    ) -> None:
        if name not in ("drop", "duplicate", "reorder", "outage"):
            raise ValueError(f"unknown fault {name!r}: drop, duplicate, reorder or outage")
        if name in ("drop", "duplicate") and not 0 <= float(value) <= 1:
            raise ValueError(f"{name} is a probability between 0 and 1, not {value}")
        setattr(self.faults, name, value)

    def set_crash_chance(self, chance: float) -> None:
        if not 0 <= chance <= 1:
            raise ValueError(f"the crash chance is a probability between 0 and 1, not {chance}")
        self.crash_chance = chance

    def set_poison_every(self, every: int) -> None:
        if every < 0:
            raise ValueError("poison_every is 0 (no poison) or a positive count")
        self.poison_every = every

    async def set_semantics(self, semantics: Semantics) -> None:
        """Restart every consumer with the new delivery semantics."""
        if semantics not in ("at-most-once", "at-least-once", "effect-once"):
            raise ValueError("semantics: 'at-most-once', 'at-least-once' or 'effect-once'")
        await self._setup()
        self.semantics = semantics
        for group, old in self._consumers.items():
            await old.stop()
            self._consumers[group] = self._consumer(group)
            if group not in self.down:
                await self._consumers[group].start()

    async def set_down(
        self,
        group: str,
        down: bool,
        *,
        for_seconds: float | None = None,
        for_events: int | None = None,
    ) -> None:
        """Take a group's consumer down (it leaves the group) or bring it back. With
        `for_seconds` or `for_events` it comes back by itself, at the first step after that
        much simulated time has passed, or that many more events were published."""
        await self._setup()
        if group not in self._consumers:
            raise ValueError(f"no group {group!r} in this lab (groups: {', '.join(self.groups)})")
        consumer = self._consumers[group]
        self._revive.pop(group, None)
        if down:
            self.down.add(group)
            await consumer.stop()
            if for_seconds is not None or for_events is not None:
                # Counted in steps (one simulated second each), not on the clock: retries and
                # backoffs move the shared virtual clock too.
                until_step = (
                    None if for_seconds is None else len(self.history) + math.ceil(for_seconds)
                )
                until_count = None if for_events is None else self._published + for_events
                self._revive[group] = (until_step, until_count)
        else:
            self.down.discard(group)
            if not consumer.running:
                await consumer.start()

    def set_slow(self, seconds_per_event: float) -> None:
        """Make every consumer slow: each event takes this many simulated seconds, so a step
        (one second) handles fewer of them."""
        if not 0 <= seconds_per_event <= 10:
            raise ValueError(f"seconds per event between 0 and 10, not {seconds_per_event}")
        self.slowness = seconds_per_event

    async def publish(self, count: int = 10) -> int:
        """The shop publishes `count` payments, spread over the topics; returns how many the
        broker stored (a send retries through a short outage, then gives up)."""
        await self._setup()
        if not 1 <= count <= 10_000:
            raise ValueError(f"publish between 1 and 10,000 events at a time, not {count}")
        stored = 0
        for _ in range(count):
            self._published += 1
            n = self._published
            poison = self.poison_every and n % self.poison_every == 0
            kind = PaymentFailed if poison else PaymentSuccessful
            extra = {"reason": "unprocessable"} if poison else {}
            event = kind(
                payment_id=f"pay-{n}",
                order_id=f"order-{n % 7}",
                amount=100 * n,
                currency="USD",
                **extra,
            )
            topic = self.topics[n % len(self.topics)]
            stored += (await self.producer.send_reliably(topic, event)).stored
        return stored

    async def step(self, steps: int = 1) -> LabCounters:
        """Each step is a simulated second: every live consumer handles up to `capacity`
        events; one that crashed is restarted (it lost what it had not committed)."""
        await self._setup()
        if not 1 <= steps <= 1000:
            raise ValueError(f"steps must be between 1 and 1,000, not {steps}")
        budget = self.capacity
        if self.slowness:  # what fits in one simulated second
            budget = max(1, min(self.capacity, int(1 / self.slowness)))
        for _ in range(steps):
            self.clock.advance(1)
            for group, (until_step, until_count) in list(self._revive.items()):
                if (until_step is not None and len(self.history) + 1 >= until_step) or (
                    until_count is not None and self._published >= until_count
                ):
                    await self.set_down(group, False)
            for group, consumer in self._consumers.items():
                if group in self.down:
                    continue
                if not consumer.running:
                    await consumer.start()
                await consumer.run(max_events=budget)
            counters = await self.counters()
            self.history.append((len(self.history) + 1, counters.lag))
        return await self.counters()

    # --- what happened ------------------------------------------------------------------

    async def counters(self) -> LabCounters:
        """The lab's scoreboard, read from the trace and the broker's state."""
        return await tally(self.broker, self.producer, self.groups, self.effects)

    async def state(self) -> BrokerState:
        """The broker as the lab's picture draws it."""
        await self._setup()
        return await self.broker.describe()

    def fault_summary(self) -> str:
        parts = [
            f"{name} {getattr(self.faults, name):.0%}"
            for name in ("drop", "duplicate")
            if getattr(self.faults, name)
        ]
        parts += [name for name in ("reorder", "outage") if getattr(self.faults, name)]
        if self.crash_chance:
            parts.append(f"crashes {self.crash_chance:.0%}")
        if self.slowness:
            parts.append(f"slow {self.slowness:g} s/event")
        if self.poison_every:
            parts.append(f"poison 1 in {self.poison_every}")
        return ", ".join(parts) or "none"
