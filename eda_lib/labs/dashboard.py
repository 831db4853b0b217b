"""Lesson 14's live dashboard: lesson 01's analytics counter as a stream processor. Payments are
published to a topic; a `WindowedCount` counts them (and sums their amounts) per currency in
tumbling windows of the time each payment happened, and publishes each window when it closes.
A widget (`eda_lib.viz.dashboard`) calls the same methods the notebook calls in code."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from eda_lib.brokers.base import Broker
from eda_lib.clock import COURSE_START
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.messaging.producer import Producer
from eda_lib.processing import ProcessorReport, Tumbling, Window, WindowedCount

CURRENCIES = ("USD", "EUR", "GBP")


@dataclass(frozen=True)
class WindowRow:
    """One currency in one window: how many payments, how much money, and whether the window
    has closed (its result published) or is still open (and may still change)."""

    window: Window
    currency: str
    count: int
    total: int
    closed: bool


class DashboardLab:
    """Payments in, counts per currency per window out. `publish` adds payments (their times
    move on `seconds_apart` each), `publish_late` adds one that happened a while ago, and
    `step` lets the processor read what is waiting."""

    def __init__(
        self,
        broker: Broker,
        *,
        window: timedelta = timedelta(minutes=1),
        allowed_lateness: timedelta = timedelta(seconds=30),
        source: str = "payments",
        sink: str = "payment-counts",
        seed: int = 14,
    ) -> None:
        self.broker, self.source, self.sink = broker, source, sink
        self.rng = random.Random(seed)
        self.moment: datetime = COURSE_START
        self.producer = Producer(broker, "checkout")
        self.processor = WindowedCount(
            broker,
            source=source,
            sink=sink,
            group="dashboard",
            window=Tumbling(window),
            key=lambda event: event.currency,  # type: ignore[attr-defined]
            value=lambda event: event.amount,  # type: ignore[attr-defined]
            event_time=lambda event: event.occurred_at,  # type: ignore[attr-defined]
            allowed_lateness=allowed_lateness,
        )
        self.published = 0
        self.last: ProcessorReport | None = None

    async def start(self) -> None:
        existing = await self.broker.topics()
        for topic in (self.source, self.sink):
            if topic not in existing:
                await self.broker.create_topic(topic)
        await self.processor.start()

    async def stop(self) -> None:
        await self.processor.stop()

    def _payment(self, occurred_at: datetime) -> PaymentSuccessful:
        self.published += 1
        return PaymentSuccessful(
            payment_id=f"pay-{self.published}",
            order_id=f"order-{self.published}",
            amount=self.rng.randrange(500, 20_000, 100),
            currency=self.rng.choices(CURRENCIES, weights=(5, 3, 2))[0],
            occurred_at=occurred_at,
        )

    async def publish(
        self, count: int = 10, *, seconds_apart: float = 6.0
    ) -> list[PaymentSuccessful]:
        """`count` payments, each `seconds_apart` after the one before."""
        made = []
        for _ in range(count):
            self.moment += timedelta(seconds=seconds_apart)
            made.append(self._payment(self.moment))
        await self.producer.send_all(self.source, made)
        return made

    async def publish_late(self, seconds_ago: float) -> PaymentSuccessful:
        """One payment that happened `seconds_ago` before the latest one, arriving only now
        (a card terminal that was offline, say)."""
        late = self._payment(self.moment - timedelta(seconds=seconds_ago))
        await self.producer.send(self.source, late)
        return late

    async def step(self) -> ProcessorReport:
        """The processor reads everything waiting, publishes the windows that closed, and
        commits."""
        self.last = await self.processor.run()
        return self.last

    def rows(self) -> list[WindowRow]:
        """Every window with payments: the closed ones (published) and the open ones."""
        closed = [
            WindowRow(Window(r.window_start, r.window_end), r.counted_key, r.count, r.total, True)
            for r in self.processor.results
        ]
        still_open = [
            WindowRow(window, currency, tally.count, tally.total, False)
            for (_, currency, window), tally in self.processor.open.items()
        ]
        return sorted(closed + still_open, key=lambda row: (row.window.start, row.currency))

    def summary(self) -> str:
        report = self.last
        latest = self.processor.latest
        told = f"latest payment at {latest:%H:%M:%S}" if latest else "no payment read yet"
        extra = (
            f"; last step: {report.counted} counted ({report.late} late), {report.too_late} too "
            f"late, {report.emitted} windows published"
            if report
            else ""
        )
        return f"{self.published} payments published; {told}{extra}"
