"""Lesson 07's work queue beside the log."""

from __future__ import annotations

from collections import Counter

import pytest

from eda_lib.queues import NotHeld, WorkQueue


def test_a_queue_gives_each_message_to_one_worker_and_forgets_it_on_ack() -> None:
    queue = WorkQueue()
    for n in range(4):
        queue.put(f"job-{n}".encode())
    a, b = queue.get("a"), queue.get("b")
    assert a is not None and b is not None and a.id != b.id
    queue.ack(a)
    with pytest.raises(NotHeld, match=r"acked already.*Fix"):
        queue.ack(a)
    assert (len(queue), queue.in_flight, queue.acked) == (2, 1, 1)
    assert queue.drop_worker("b") == 1  # b died holding job-1: it goes back, first in line
    assert queue.get("c") == b
    queue.nack(b)
    assert queue.get("c") == b


def test_a_drained_queue_has_nothing_for_a_newcomer() -> None:
    queue = WorkQueue()
    queue.put(b"x")
    message = queue.get("a")
    assert message is not None
    queue.ack(message)
    assert queue.get("newcomer") is None  # unlike a log, nothing is kept to replay


def test_a_worker_presumed_dead_cannot_ack_what_another_now_holds() -> None:
    queue = WorkQueue()
    queue.put(b"job")
    message = queue.get("slow")
    assert message is not None
    queue.drop_worker("slow")
    again = queue.get("fresh")
    with pytest.raises(NotHeld, match=r"held by fresh, not slow.*Fix"):
        queue.ack(message, worker="slow")
    queue.ack(again, worker="fresh")  # type: ignore[arg-type]


def test_workers_compete_by_speed_and_a_dead_workers_message_goes_to_another() -> None:
    from eda_lib.queues import WorkQueue, run_workers

    def queue_of(count: int) -> WorkQueue:
        queue = WorkQueue()
        for n in range(count):
            queue.put(f"job-{n}".encode())
        return queue

    # Worked out by hand: the fast worker is free at 0, 1, 2, ...; the slow one at 0, 3, 6.
    log = run_workers(queue_of(12), {"fast": 1.0, "slow": 3.0})
    assert Counter(h.worker for h in log) == {"fast": 9, "slow": 3}
    assert sorted(h.message for h in log) == list(range(12))

    queue = queue_of(12)
    log = run_workers(queue, {"fast": 1.0, "slow": 3.0}, dies_at={"slow": 2})
    died = [h for h in log if h.outcome == "died"]
    # At 3 s both are free; "fast" goes first on a tie, so "slow" takes job 5 and dies with it.
    assert [(h.worker, h.message, h.end) for h in died] == [("slow", 5, 6.0)]
    again = [h for h in log if h.message == 5 and h.outcome == "acked"]
    assert [(h.worker, h.start) for h in again] == [("fast", 6.0)]  # back when the death is seen
    acked = sorted(h.message for h in log if h.outcome == "acked")
    assert acked == list(range(12)) and queue.acked == 12 and len(queue) == queue.in_flight == 0
