"""A classic message queue (lesson 07): a message is handed to one worker and deleted when that
worker acknowledges it. Set beside the broker's retained log to see the difference. `run_workers`
lets workers of different speeds compete for one queue on a simulated clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from eda_lib.brokers.base import BrokerError


class NotHeld(BrokerError, LookupError):
    """An ack or nack for a message that this worker does not hold."""


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    body: bytes


class WorkQueue:
    """Competing consumers by construction: `get` gives each message to one worker; `ack`
    deletes it for good; `nack`, or a worker that disappears (`drop_worker`), puts what it held
    back at the front of the queue for another worker."""

    def __init__(self) -> None:
        self._ready: deque[QueuedMessage] = deque()
        self._held: dict[int, tuple[str, QueuedMessage]] = {}
        self._next_id = 0
        self.acked = 0

    def put(self, body: bytes) -> QueuedMessage:
        message = QueuedMessage(self._next_id, body)
        self._next_id += 1
        self._ready.append(message)
        return message

    def get(self, worker: str) -> QueuedMessage | None:
        """The next message, now held by `worker` until it acks or nacks it; None if empty."""
        if not self._ready:
            return None
        message = self._ready.popleft()
        self._held[message.id] = (worker, message)
        return message

    def _release(self, message: QueuedMessage, worker: str | None) -> QueuedMessage:
        held = self._held.get(message.id)
        if held is None:
            raise NotHeld(
                f"message {message.id} is not held by any worker: it was acked "
                "already, went back to the queue, or was never handed out. Fix: ack or nack "
                "only what `get` gave you, once"
            )
        if worker is not None and held[0] != worker:
            raise NotHeld(
                f"message {message.id} is held by {held[0]}, not {worker}: "
                f"{worker} lost it when it was presumed dead. Fix: `get` a message again"
            )
        del self._held[message.id]
        return held[1]

    def ack(self, message: QueuedMessage, worker: str | None = None) -> None:
        """Done: the message is deleted; nobody can read it again. With `worker`, only the
        worker that holds it may ack it."""
        self._release(message, worker)
        self.acked += 1

    def nack(self, message: QueuedMessage, worker: str | None = None) -> None:
        """Not done: back to the front of the queue for the next `get`."""
        self._ready.appendleft(self._release(message, worker))

    def drop_worker(self, worker: str) -> int:
        """A worker died: everything it held goes back to the queue. Returns how many."""
        returned = sorted(
            (m for w, m in self._held.values() if w == worker), key=lambda m: m.id, reverse=True
        )
        for message in returned:
            del self._held[message.id]
            self._ready.appendleft(message)
        return len(returned)

    def __len__(self) -> int:
        """Messages waiting (not counting those held by workers)."""
        return len(self._ready)

    @property
    def in_flight(self) -> int:
        return len(self._held)


@dataclass(frozen=True)
class Handling:
    """One message in one worker's hands, on the simulated clock."""

    worker: str
    message: int
    start: float
    end: float
    outcome: str
    """'acked', or 'died' (the worker died holding it; the queue gave it to another)."""


def run_workers(
    queue: WorkQueue,
    seconds_per_message: dict[str, float],
    *,
    dies_at: dict[str, int] | None = None,
) -> list[Handling]:
    """Workers compete for `queue` on a simulated clock until it is empty: each takes the next
    message as soon as it is free, so a faster worker takes more. A worker named in `dies_at`
    dies holding its n-th message (1 = its first), at the moment it would have finished it; the
    queue then notices and hands the message to another worker. Returns every handling in the
    order it started."""
    if not seconds_per_message or min(seconds_per_message.values()) <= 0:
        raise ValueError("give each worker a positive number of seconds per message")
    dies_at = dict(dies_at or {})
    free_at = dict.fromkeys(seconds_per_message, 0.0)
    taken = dict.fromkeys(seconds_per_message, 0)
    deaths: list[tuple[float, str]] = []  # (when the queue notices, which worker)
    log: list[Handling] = []
    while (len(queue) or deaths) and free_at:
        worker = min(free_at, key=lambda w: (free_at[w], w))  # the first free, by name on ties
        now = free_at[worker]
        for death in sorted(d for d in deaths if d[0] <= now):
            queue.drop_worker(death[1])  # what the dead worker held goes back to the queue
            deaths.remove(death)
        if not len(queue):
            free_at[worker] = min(when for when, _ in deaths)  # nothing ready: wait for it
            continue
        message = queue.get(worker)
        assert message is not None  # the queue is not empty
        end = now + seconds_per_message[worker]
        taken[worker] += 1
        if dies_at.get(worker) == taken[worker]:
            deaths.append((end, worker))
            del free_at[worker]  # it never comes back
            log.append(Handling(worker, message.id, now, end, "died"))
            continue
        queue.ack(message, worker)
        free_at[worker] = end
        log.append(Handling(worker, message.id, now, end, "acked"))
    return sorted(log, key=lambda h: (h.start, h.worker))
