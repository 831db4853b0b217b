"""Self-checking exercises of lesson 07 (queues, brokers and event streams): what a queue hands out
again, what a log replays, a careful queue worker, a new group that skips the history, and the
table a compacted topic stands for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from eda_lib.brokers.base import Record
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.compaction import latest_values
from eda_lib.domain.payments import PaymentSuccessful as Payment
from eda_lib.exercises.checks import Check, crashed, fail
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


def _table_scenario(variant: int) -> tuple[list[Record], dict[bytes, bytes]]:
    """Records as a reader of a 2-partition compacted topic meets them (partitions interleaved,
    each in offset order), and the table they stand for. Each key is there for a wrong idea:
    one updated (the last value wins), one deleted (a tombstone removes it), one deleted and
    written again (a delete is not forever), one whose only record is a tombstone, and one
    whose value is empty (still a value)."""
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    n = variant  # the second run uses other keys and values, so a hard-coded answer fails
    written = [
        (0, f"cust-{n}1", f"{n}2 Elm St"),
        (1, f"cust-{n}2", f"{n} Oak Ave"),
        (0, f"cust-{n}3", None),
        (1, f"cust-{n}4", None),
        (0, f"cust-{n}1", f"{n}8 Pine Rd"),
        (1, f"cust-{n}2", None),
        (0, f"cust-{n}3", f"{n}1 Bay Ln"),
        (1, f"cust-{n}5", f"{n}4 Hill Ct"),
        (0, f"cust-{n}6", ""),  # an empty value is a value: only None is a tombstone
    ]
    offsets = [0, 0]
    records = []
    for partition, key, value in written:
        encoded = None if value is None else value.encode()
        records.append(
            Record("addresses", partition, offsets[partition], key.encode(), encoded, (), at)
        )
        offsets[partition] += 1
    table = latest_values(records)
    return records, {key: value for key, value in table.items() if key is not None}


def check_table_from_compacted(rebuild: Callable[[list[Record]], Any]) -> Check:
    """Lesson 07, exercise 5: `rebuild(records)` returns the table a compacted topic stands
    for, {key: value} in bytes: each key's last value; a tombstone (value None) deletes its key."""
    for variant in (1, 2):
        records, want = _table_scenario(variant)
        try:
            got = rebuild(list(records))
        except Exception as error:
            return crashed(error, "a tombstone may come for a key the table never had")
        if not isinstance(got, Mapping):
            return fail(f"rebuild returned {type(got).__name__}", "return a dict: key -> value")
        if strays := sorted({type(key).__name__ for key in got if not isinstance(key, bytes)}):
            return fail(
                f"your table's keys are {', '.join(strays)}",
                "keep the keys as bytes, as the records have them (record.key)",
            )
        odd = {type(v).__name__ for v in got.values() if v is not None and not isinstance(v, bytes)}
        if odd:
            return fail(
                f"your table's values are {', '.join(sorted(odd))}",
                "keep the values as bytes, as the records have them (record.value)",
            )
        if (problem := _table_problem(records, dict(got), want)) is not None:
            return problem
    return Check(
        True,
        "for two histories, your table has each key's last value, no key a tombstone deleted, "
        "and the key written again after its tombstone.",
    )


def _table_problem(
    records: list[Record], got: dict[Any, Any], want: dict[bytes, bytes]
) -> Check | None:
    last = {r.key: r for r in records}
    for key, record in last.items():
        shown = (key or b"").decode()
        if record.value is None and key in got:
            if got[key] is None:
                return fail(
                    f"{shown} is in your table with the value None",
                    "a tombstone deletes its key from the table; it is not a value to store",
                )
            return fail(
                f"{shown} is still in your table, though its last record is a tombstone",
                "a record whose value is None means the key was deleted",
            )
        if record.value is not None and key not in got:
            where = f"{record.topic}[{record.partition}] at offset {record.offset}"
            if record.value == b"":
                hint = "an empty value is still a value: only None is a tombstone"
            elif any(r.key == key and r.value is None for r in records):
                hint = "a key deleted by a tombstone can come back: a later value writes it again"
            else:
                hint = "read every record you are given, from every partition"
            return fail(f"{shown} is missing, though its last record ({where}) has a value", hint)
        if record.value is not None and got[key] != record.value:
            return fail(
                f"{shown} is {got[key]!r}, but its last record says {record.value!r}",
                "records of one key are in offset order: the last one wins",
            )
    if got != want:
        extra = sorted(map(repr, set(got) - set(want)))
        return fail(
            f"your table has keys no record left there: {', '.join(extra)}",
            "keep the keys as bytes, as the records have them",
        )
    return None
