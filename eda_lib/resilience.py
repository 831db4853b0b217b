"""Resilience patterns (lesson 12): retries with backoff, idempotent consumers, and waiting that
follows a virtual clock, so a lesson can simulate minutes of backoff instantly."""

from __future__ import annotations

import asyncio
import inspect
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar
from uuid import UUID

from eda_lib.brokers.base import BrokerUnavailable
from eda_lib.clock import Clock, VirtualClock

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Try up to `max_attempts` times, waiting `base_delay * multiplier**(n-1)` seconds (at most
    `max_delay`) after failure n, spread by a random `jitter` (a fraction, e.g. 0.1 for ±10%) so
    that many retrying clients do not strike at the same instant. Each client seeds its jitter
    with `seed` and its own name: repeatable, yet different from client to client."""

    max_attempts: int = 3
    base_delay: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(
                f"max_attempts counts the first try too: at least 1, not {self.max_attempts}"
            )
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must be >= 0 and the multiplier >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter is a fraction between 0 and 1, not {self.jitter}")

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th failed attempt."""
        raw = min(self.max_delay, self.base_delay * self.multiplier ** (failures - 1))
        return raw * (1 + rng.uniform(-self.jitter, self.jitter))

    def rng(self, client: str = "") -> random.Random:
        """The jitter source of one client (a producer's name, a consumer's `group/name`)."""
        return random.Random(f"{self.seed}:{client}")

    def schedule(self, client: str = "") -> list[float]:
        """The waits between attempts, as the named client would wait them the first time."""
        rng = self.rng(client)
        return [self.delay(n, rng) for n in range(1, self.max_attempts)]


async def wait(clock: Clock, seconds: float) -> None:
    """Sleep on a real clock; on a virtual clock, move time forward instead."""
    if isinstance(clock, VirtualClock):
        clock.advance(seconds)
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would
    else:
        await asyncio.sleep(seconds)


async def while_unavailable(
    attempt: Callable[[], Awaitable[T]], policy: RetryPolicy, rng: random.Random, clock: Clock
) -> tuple[T | BrokerUnavailable, int]:
    """Call `attempt` until it returns or `policy.max_attempts` tries have failed with
    `BrokerUnavailable`, waiting the policy's backoff between tries. Returns what the last try
    returned (or the error it raised) and how many tries there were."""
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt(), tries
        except BrokerUnavailable as down:
            if tries >= policy.max_attempts:
                return down, tries
            await wait(clock, policy.delay(tries, rng))


async def settle(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 5.0, every: float = 0.01
) -> bool:
    """Check `condition` every `every` seconds (of wall time) until it holds or `timeout`
    seconds have passed; returns whether it held. What runs in the background (a subscriber, a
    process, a Kafka cluster) takes a moment: this is the one way the library waits for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held or loop.time() >= deadline:
            return bool(held)
        await asyncio.sleep(every)


class ProcessedEvents(Protocol):
    """Which event ids a consumer group has already applied: what makes a consumer idempotent."""

    def seen(self, group: str, event_id: UUID) -> bool: ...

    def add(self, group: str, event_id: UUID) -> None: ...


class InMemoryProcessedEvents:
    """Processed ids in memory: lost when the process dies (`forget` is that moment)."""

    def __init__(self) -> None:
        self._ids: set[tuple[str, UUID]] = set()

    def forget(self) -> None:
        self._ids.clear()

    def seen(self, group: str, event_id: UUID) -> bool:
        return (group, event_id) in self._ids

    def add(self, group: str, event_id: UUID) -> None:
        self._ids.add((group, event_id))

    def __len__(self) -> int:
        return len(self._ids)


class SqliteProcessedEvents:
    """Processed ids in a SQLite file, so they survive a restart of the consumer process."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS processed ("
            " consumer_group TEXT NOT NULL, event_id TEXT NOT NULL,"
            " PRIMARY KEY (consumer_group, event_id))"
        )
        self._db.commit()

    def seen(self, group: str, event_id: UUID) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM processed WHERE consumer_group = ? AND event_id = ?",
            (group, str(event_id)),
        ).fetchone()
        return row is not None

    def add(self, group: str, event_id: UUID) -> None:
        with self._db:  # one transaction: once it returns, the id is on disk
            self._db.execute(
                "INSERT OR IGNORE INTO processed (consumer_group, event_id) VALUES (?, ?)",
                (group, str(event_id)),
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM processed").fetchone()[0])

    def close(self) -> None:
        self._db.close()
