"""Self-checking exercises of lesson 07 (queues, brokers and event streams): what a queue hands out
again, what a log replays, a careful queue worker, and a new group that skips the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.domain.payments import PaymentSuccessful as Payment
from eda_lib.exercises.checks import Check, fail
from eda_lib.messaging import Consumer, Producer
from eda_lib.queues import NotHeld, QueuedMessage, WorkQueue


def check_dead_worker_redelivery(answer: int) -> Check:
    """Lesson 07, exercise 1: five messages; a worker takes three and dies unacknowledged."""
    queue = WorkQueue()
    for n in range(5):
        queue.put(f"job-{n}".encode())
    for _ in range(3):
        queue.get("doomed")
    queue.drop_worker("doomed")
    takeable = 0
    while (message := queue.get("next")) is not None:
        queue.ack(message)
        takeable += 1
    if answer != takeable:
        return fail(f"not {answer}", "a queue deletes a message only when it is acknowledged")
    return Check(True, f"{takeable}: unacknowledged messages go back to the queue.")


async def check_replay_count(answer: int) -> Check:
    """Lesson 07, exercise 2: 12 events on 3 partitions, all committed, then seek to 0."""
    broker = InMemoryBroker()
    await broker.create_topic("t", partitions=3)
    producer = Producer(broker)
    for n in range(12):
        await producer.send(
            "t", Payment(payment_id=f"p{n}", order_id=f"o{n}", amount=1, currency="USD")
        )
    consumer = Consumer(broker, "g", "t", lambda e: None, name="m", start="earliest")
    await consumer.start()
    await consumer.run()
    for tp in await consumer.assignment():
        await consumer.seek(tp, 0)
    again = (await consumer.run()).handled
    if answer != again:
        return fail(f"not {answer}", "seeking to offset 0 rereads each partition from its start")
    return Check(True, f"{again}: a log gives back everything it still retains.")


def check_careful_worker(work: Callable[[Any, Callable[[bytes], None]], Any]) -> Check:
    """Lesson 07, exercise 3: `work(queue, handle)` takes messages as one worker until the
    queue is empty, acks each one `handle` went through for, and nacks one it raised for, so
    the queue hands it out again and nothing is lost."""
    queue = _HandOuts()
    for n in range(5):
        queue.put(f"job-{n}".encode())
    done: list[bytes] = []
    failed_once: set[bytes] = set()

    def handle(body: bytes) -> None:
        if body == b"job-2" and body not in failed_once:
            failed_once.add(body)
            raise TimeoutError("the printer jammed")
        done.append(body)

    try:
        work(queue, handle)
    except NotHeld as error:  # an ack or nack of a message the worker no longer held
        return fail(
            f"the queue refused an ack or nack: {error}",
            "acknowledge a message only after handle() went through: once acked it is deleted, "
            "and nack cannot bring it back",
        )
    except Exception as error:
        return fail(
            f"your code raised {type(error).__name__}: {error}",
            "catch the handler's error and nack the message instead of stopping",
        )
    if queue.in_flight:
        return fail(
            f"{queue.in_flight} message(s) still held by the worker, never acked nor nacked",
            "after a failure, queue.nack(message) puts it back for the next get",
        )
    if sorted(done) != [f"job-{n}".encode() for n in range(5)] or queue.acked != 5:
        return fail(
            f"handled {sorted(b.decode() for b in done)}, acked {queue.acked}",
            "ack only after handle() returned; loop until get() returns None",
        )
    if queue.handed.count(b"job-2") < 2:
        return fail(
            "job-2 was handed out once: it was retried in the worker's hands, never nacked",
            "after a failure, queue.nack(message) puts it back; the next get hands it out "
            "again, to whichever worker asks (a worker retrying inline holds it, and dies "
            "with it)",
        )
    return Check(True, "every job handled once and acked; the jammed one went back and came again")


class _HandOuts(WorkQueue):
    """A work queue that notes the body of every message it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: list[bytes] = []

    def get(self, worker: str) -> QueuedMessage | None:
        message = super().get(worker)
        if message is not None:
            self.handed.append(message.body)
        return message


async def check_latest_auditor(make_auditor: Callable[[Any, list[str]], Any]) -> Check:
    """Lesson 07, exercise 4: `make_auditor(broker, seen)` returns a consumer of a new group
    that skips the history (Kafka's `auto.offset.reset=latest`) and appends the payment id of
    each new event to `seen`."""

    def pay(n: int) -> Payment:
        return Payment(payment_id=f"pay-{n}", order_id=f"order-{n}", amount=100, currency="usd")

    seen: list[str] = []
    async with InMemoryBroker(seed=7) as broker:
        await broker.create_topic("payments", partitions=2)
        producer = Producer(broker, "payment-service")
        await producer.send_all("payments", [pay(n) for n in range(5)])
        try:
            auditor = make_auditor(broker, seen)
            async with auditor:
                await producer.send_all("payments", [pay(n) for n in range(5, 8)])
                await auditor.run(max_events=3, timeout=2)
        except Exception as error:
            return fail(
                f"your code raised {type(error).__name__}: {error}",
                "return Consumer(broker, group, 'payments', handler, start=...) unstarted",
            )
    noted = [type(item).__name__ for item in seen if not isinstance(item, str)]
    if noted:
        return fail(
            f"the auditor appended {noted[0]} objects to seen, not payment ids",
            "append the event's payment_id, a string",
        )
    if len(seen) == 3 and not set(seen) & {f"pay-{n}" for n in range(8)}:
        return fail(
            f"the auditor saw the 3 new payments, but appended {sorted(seen)}",
            "append each event's payment_id",
        )
    if sorted(seen) != ["pay-5", "pay-6", "pay-7"]:
        return fail(
            f"the auditor saw {sorted(seen)}",
            "a new group starts where start= says: 'earliest' is the history, 'latest' only new",
        )
    return Check(True, "only the 3 payments published after it joined")
