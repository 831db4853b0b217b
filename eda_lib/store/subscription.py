"""A catch-up subscription (lessons 09 and 10): read the store's whole log from a position, then
follow what is appended after. It asks the store again every `poll_interval_s`, so it also sees
appends made by other processes to a shared SQLite file."""

from __future__ import annotations

import asyncio
from collections import deque

from eda_lib.store.base import EventStore, StoredEvent, check_whole


class Subscription:
    """Hands out the store's events in global order, from `from_position` on, and then each new
    one as it is appended. `position` is the last position handed out."""

    def __init__(
        self,
        store: EventStore,
        from_position: int = 1,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.02,
    ) -> None:
        self.store = store
        self.position = check_whole(from_position, "from_position", least=1) - 1
        self.batch_size = check_whole(batch_size, "batch_size", least=1)
        self.poll_interval_s = poll_interval_s
        self._buffer: deque[StoredEvent] = deque()

    def __repr__(self) -> str:
        return f"Subscription(at position {self.position})"

    @property
    def caught_up(self) -> bool:
        """Whether every event appended so far has been handed out."""
        return not self._buffer and self.position >= self.store.last_position()

    def _fetch(self) -> bool:
        batch = self.store.read_all(self.position + 1, self.batch_size)
        if batch:
            self._buffer.extend(batch)
            self.position = batch[-1].position
        return bool(batch)

    async def _wait(self, deadline: float) -> bool:
        """Whether an event is in the buffer, asking the store until `deadline` if need be."""
        loop = asyncio.get_running_loop()
        while not self._buffer and not self._fetch():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(self.poll_interval_s, remaining))
        return True

    async def next_batch(self, timeout_s: float) -> list[StoredEvent]:
        """The events that are there (at least one, up to `batch_size`), waiting up to
        `timeout_s` for one to be appended; an empty list if none was."""
        if not await self._wait(asyncio.get_running_loop().time() + timeout_s):
            return []
        batch = list(self._buffer)
        self._buffer.clear()
        return batch

    async def take(self, count: int, timeout_s: float) -> list[StoredEvent]:
        """The next `count` events, or fewer if `timeout_s` passes first."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        taken: list[StoredEvent] = []
        while len(taken) < count and await self._wait(deadline):
            while self._buffer and len(taken) < count:
                taken.append(self._buffer.popleft())
        return taken

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> StoredEvent:
        while not self._buffer and not self._fetch():
            await asyncio.sleep(self.poll_interval_s)
        return self._buffer.popleft()
