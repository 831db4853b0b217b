"""Small simulations a learner can poke at, in code or through a widget (lesson 02).

Each lab runs on an `InMemoryBroker` with a virtual clock, so one "tick" is one simulated second
and a run prints the same numbers every time.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from matplotlib.figure import Figure

from eda_lib.brokers.base import TopicPartition
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock
from eda_lib.domain.payments import PaymentFailed, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.faults import BrokerFaults, ConsumerFaults, CrashOnce
from eda_lib.messaging import Consumer, ConsumerCrash, Producer
from eda_lib.resilience import InMemoryProcessedEvents, ProcessedEvents, RetryPolicy

if TYPE_CHECKING:
    from eda_lib.viz.lab import LabPicture


@dataclass(frozen=True)
class TickStats:
    tick: int
    published: int
    handled: int
    lag: int
    consumer_up: bool
    rate: int


class BacklogLab:
    """A payment service publishes `rate` payments per tick; a shipping consumer handles at most
    `capacity` per tick while it is up. Take the consumer down and the lag grows; bring it back
    and it catches up at `capacity - rate` per tick, since the broker kept every event."""

    topic = "payments"
    group = "shipping"

    def __init__(self, *, rate: int = 3, capacity: int = 5, partitions: int = 2, seed: int = 0):
        self.clock = VirtualClock()
        self.broker = InMemoryBroker(seed=seed, clock=self.clock)
        self.partitions = partitions
        self.producer = Producer(self.broker, "payment-service")
        self.shipped: list[str] = []
        self.consumer = Consumer(
            self.broker,
            self.group,
            self.topic,
            lambda e: self.shipped.append(e.order_id),
            name="shipping-1",
        )
        self.rate = rate
        self.capacity = capacity
        self.history: list[TickStats] = []
        self._published = 0
        self._ready = False

    async def _setup(self) -> None:
        if not self._ready:
            await self.broker.create_topic(self.topic, partitions=self.partitions)
            await self.consumer.start()
            self._ready = True

    def set_rate(self, rate: int) -> None:
        if not 0 <= rate <= 1000:
            raise ValueError(f"rate is payments per tick, between 0 and 1000, not {rate}")
        self.rate = rate

    async def set_consumer(self, up: bool) -> None:
        """Start or stop the shipping consumer (stopping is what a crash or a deploy looks like
        to the broker: the member leaves the group)."""
        await self._setup()
        if up and not self.consumer.running:
            await self.consumer.start()
        elif not up and self.consumer.running:
            await self.consumer.stop()

    async def tick(self, ticks: int = 1) -> TickStats:
        """Advance `ticks` simulated seconds; returns the state after the last one."""
        await self._setup()
        if not 1 <= ticks <= 10_000:
            raise ValueError(f"ticks must be between 1 and 10,000, not {ticks}")
        for _ in range(ticks):
            self.clock.advance(1)
            for _ in range(self.rate):
                self._published += 1
                n = self._published
                await self.producer.send(
                    self.topic,
                    PaymentSuccessful(
                        payment_id=f"pay-{n}",
                        order_id=f"order-{n}",
                        amount=1000 + n % 90 * 100,
                        currency="USD",
                    ),
                )
            if self.consumer.running:
                await self.consumer.run(max_events=self.capacity)
            state = (await self.broker.describe()).group(self.group)
            self.history.append(
                TickStats(
                    len(self.history) + 1,
                    self._published,
                    len(self.shipped),
                    state.total_lag,
                    self.consumer.running,
                    self.rate,
                )
            )
        return self.history[-1]

    def plot(self) -> Figure:
        """Lag per tick, with the ticks the consumer was down shaded."""
        figure = Figure(figsize=(8, 3.2), dpi=100)
        ax = figure.add_subplot()
        ticks = [s.tick for s in self.history]
        ax.plot(ticks, [s.lag for s in self.history], color="#c44e52", lw=2, label="lag")
        ax.plot(
            ticks,
            [s.published for s in self.history],
            color="#4c72b0",
            lw=1,
            ls="--",
            label="published (total)",
        )
        ax.plot(
            ticks, [s.handled for s in self.history], color="#55a868", lw=1, label="shipped (total)"
        )
        for s in self.history:
            if not s.consumer_up:
                ax.axvspan(s.tick - 0.5, s.tick + 0.5, color="#cccccc", alpha=0.5, lw=0)
        ax.set_xlabel("tick (simulated seconds)")
        ax.set_ylabel("events")
        rates = sorted({s.rate for s in self.history})
        rate = "/".join(map(str, rates)) if rates else str(self.rate)
        ax.set_title(
            f"rate {rate} per tick, capacity {self.capacity} per tick; grey = consumer down",
            fontsize=10,
        )
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.2)
        figure.tight_layout()
        return figure

    def summary(self) -> str:
        if not self.history:
            return "nothing has happened yet: call `await lab.tick()`"
        last = self.history[-1]
        state = "up" if last.consumer_up else "DOWN"
        return (
            f"tick {last.tick}: published {last.published}, shipped {last.handled}, "
            f"lag {last.lag}, consumer {state}"
        )


@dataclass(frozen=True)
class LabCounters:
    produced: int  # events the shop's producer got stored
    refused: int  # sends given up on while the broker was down
    delivered: int  # deliveries to consumers, repeats included
    handled: int  # effects applied (a duplicate effect counts again)
    duplicate_effects: int  # effects applied more than once for the same event and group
    duplicates_suppressed: int  # repeats a consumer recognised and skipped
    dead_lettered: int  # events a group parked in a dead-letter topic (each counted once)
    dead_letter_repeats: int  # extra copies: the same event parked again after a crash
    lost: int  # committed by a group, but never handled or dead-lettered there
    lag: int


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
        self.semantics: Literal["at-most-once", "at-least-once", "effect-once"] = "at-least-once"
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
        self._picture: LabPicture | None = None

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
        def handle(event: Event) -> None:
            if isinstance(event, PaymentFailed):
                raise ValueError(f"poison: {event.payment_id} cannot be processed")
            if self._rng.random() < self.crash_chance / 2:
                raise ConsumerCrash("died while handling, before the effect")
            effects[str(event.id)] += 1

        def dies(event: Event) -> bool:
            return self._rng.random() < self.crash_chance / 2

        commit = "before" if self.semantics == "at-most-once" else "each"
        idempotency = InMemoryProcessedEvents() if self.semantics == "effect-once" else None
        previous = self._consumers.get(group)
        if previous is not None and previous.idempotency is not None and idempotency is not None:
            idempotency = previous.idempotency  # the store outlives the process
        return Consumer(
            self.broker,
            group,
            list(self.topics),
            handle,
            name=f"{group}-1",
            commit=commit,
            idempotency=idempotency,  # type: ignore[arg-type]
            retry=RetryPolicy(max_attempts=2, base_delay=0.1),
            faults=ConsumerFaults(crash_before_commit=dies),
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

    async def set_semantics(
        self, semantics: Literal["at-most-once", "at-least-once", "effect-once"]
    ) -> None:
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
        trace = self.broker.trace
        state = await self.broker.describe()
        lag = sum(
            state.group(g).total_lag for g in self.groups if any(s.group == g for s in state.groups)
        )
        # Which event sits at each offset: a send is a 'produced' hop, then 'stored' (or not).
        at: dict[tuple[str, int, int], str] = {}
        pending = ""
        for hop in trace:
            if hop.kind == "produced" and hop.actor == self.producer.name:
                pending = hop.event_id
            elif hop.kind == "stored" and hop.actor == self.producer.name and pending:
                at[(hop.topic, hop.partition, hop.offset)] = pending
                pending = ""
        parked = [(h.group, h.topic, h.partition, h.offset) for h in trace.select("dead_lettered")]
        dead = set(parked)
        lost = 0
        for group in self.groups:
            done = self.effects[group]
            committed = (
                state.group(group).committed if any(s.group == group for s in state.groups) else {}
            )
            for (topic, partition, offset), event_id in at.items():
                settled = offset < committed.get(TopicPartition(topic, partition), 0)
                if settled and not done[event_id] and (group, topic, partition, offset) not in dead:
                    lost += 1
        return LabCounters(
            produced=len(at),
            refused=sum(1 for o in self.producer.outcomes if not o.stored),
            delivered=len(trace.select("delivered")),
            handled=sum(sum(c.values()) for c in self.effects.values()),
            duplicate_effects=sum(
                n - 1 for c in self.effects.values() for n in c.values() if n > 1
            ),
            duplicates_suppressed=len(trace.select("duplicate")),
            dead_lettered=len(dead),
            dead_letter_repeats=len(parked) - len(dead),
            lost=lost,
            lag=lag,
        )

    async def png(self) -> bytes:
        """The picture as PNG bytes (what the widget shows)."""
        await self.draw()
        assert self._picture is not None
        return self._picture.png()

    async def draw(self) -> Figure:
        """The lab as a picture: topics, groups and their lag, and the lag over time. The same
        figure is updated on every call (that is what keeps a widget's redraw fast)."""
        from eda_lib.viz.lab import LabPicture

        await self._setup()
        if self._picture is None:
            self._picture = LabPicture(self.producer.name, self.topics, self.groups)
        return self._picture.update(
            await self.broker.describe(),
            self.down,
            self.history,
            f"{self.semantics}; faults: {self.fault_summary()}",
        )

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


async def crash_scenario(
    commit: Literal["each", "before"],
    *,
    crash: Literal["after the effect", "before the effect"],
    idempotency: ProcessedEvents | None = None,
) -> list[str]:
    """Lesson 12: three payments; the shipping consumer dies once at `pay-1`, either right after
    its effect (before the commit) or in the middle of handling it (before the effect), then
    restarts. Returns the effects in the order they happened."""
    broker = InMemoryBroker(clock=VirtualClock())
    await broker.create_topic("payments")
    await Producer(broker).send_all(
        "payments",
        [
            PaymentSuccessful(
                payment_id=f"pay-{n}", order_id=f"order-{n}", amount=1000 * (n + 1), currency="USD"
            )
            for n in range(3)
        ],
    )
    effects: list[str] = []
    dies = CrashOnce(frozenset({"pay-1"}))

    def handle(event: Event) -> None:
        if crash == "before the effect" and dies(event):
            raise ConsumerCrash("died before the effect")
        effects.append(getattr(event, "payment_id", ""))

    faults = ConsumerFaults(crash_before_commit=dies if crash == "after the effect" else None)
    consumer = Consumer(
        broker,
        "shipping",
        "payments",
        handle,
        name="s",
        commit=commit,
        idempotency=idempotency,
        faults=faults,
    )
    for _ in range(2):  # run, crash, restart, run
        await consumer.start()
        await consumer.run()
    return effects
