"""A zombie producer (lesson 12): a transactional writer frozen mid-transaction, then fenced.

A real crash leaves its transaction open, and a `read_committed` reader stops at it (the last
stable offset) until it ends: the broker aborts it after the producer's `transaction.timeout.ms`,
or sooner a new producer with the same `transactional.id` calls `init_transactions`, which aborts
it and bumps the producer epoch: the old producer, if it wakes, is refused (fenced).

The writer runs in its own OS process (`python -m eda_lib.kafka.zombie`) so that SIGSTOP freezes
all of it, librdkafka's threads too, as a long GC pause or a frozen VM would. It and the fencing
producer are librdkafka (confluent_kafka), the client under the course's Go code, on a plain
connection as in `eda_lib.kafka.librdkafka`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from confluent_kafka import KafkaException, Producer


@dataclass(frozen=True)
class Refusal:
    """Why the zombie's late write and commit failed, as librdkafka reported it."""

    code: str  # librdkafka's error name, such as `_FENCED` (Go: `kafka.ErrFenced`)
    fatal: bool  # True: the producer can only be closed now (Go: `IsFatal()`)
    reason: str  # the last clause of librdkafka's message (the rest names offsets and epochs)
    during: str  # the call that raised it: `produce` or `commit_transaction`


class Zombie:
    """A transactional writer in its own process that has begun a transaction and written.
    `freeze` and `wake` stop and resume the whole process; `finish` makes it write once more
    and commit, and returns `None` if that worked, else its `Refusal`."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def freeze(self) -> None:
        os.kill(self._process.pid, signal.SIGSTOP)

    def wake(self) -> None:
        os.kill(self._process.pid, signal.SIGCONT)

    async def finish(self, late: bytes, *, timeout_s: float = 30.0) -> Refusal | None:
        assert self._process.stdin is not None
        self._process.stdin.write(late + b"\n")
        await self._process.stdin.drain()
        outcome = json.loads(await self._line(timeout_s))
        await asyncio.wait_for(self._process.wait(), timeout_s)
        return None if outcome["code"] is None else Refusal(**outcome)

    async def _line(self, timeout_s: float) -> str:
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout_s)
        if not line:  # the process ended without answering: show what librdkafka said
            assert self._process.stderr is not None
            said = (await self._process.stderr.read()).decode(errors="replace")
            raise RuntimeError(f"the zombie process ended early: {said[-500:]}")
        return line.decode().strip()


@asynccontextmanager
async def zombie_writer(
    bootstrap: str, topic: str, values: Sequence[bytes], *, transactional_id: str
) -> AsyncIterator[Zombie]:
    """Start a process that begins a transaction and writes `values` to `topic`, and wait until
    they are in the log; on leaving, the process is killed if it still runs."""
    command = [sys.executable, "-m", "eda_lib.kafka.zombie", bootstrap, topic, transactional_id]
    process = await asyncio.create_subprocess_exec(
        *command,
        *(value.decode() for value in values),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,  # librdkafka's log lines stay out of the notebook
    )
    zombie = Zombie(process)
    try:
        if (said := await zombie._line(60.0)) != "written":
            raise RuntimeError(f"the zombie process said {said!r}, not 'written'")
        yield zombie
    finally:
        if process.returncode is None:
            process.kill()  # SIGKILL ends a stopped process too
            await process.wait()


async def fence(bootstrap: str, transactional_id: str, *, timeout_s: float = 30.0) -> None:
    """What a restarted service does first: a new producer with the same `transactional_id`
    calls `init_transactions` (Go: `InitTransactions`), which aborts the old producer's open
    transaction and bumps the epoch, fencing the old producer."""

    def init() -> None:
        # log_level 3: errors only; the "retrying" warnings while the old transaction aborts
        # would otherwise go to stderr, into the notebook
        producer = Producer(
            {"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "log_level": 3}
        )
        producer.init_transactions(timeout_s)

    await asyncio.to_thread(init)


async def partition_ends(bootstrap: str, topic: str, partition: int = 0) -> tuple[int, int]:
    """Where the partition ends for a `read_committed` reader (the last stable offset: the
    first offset of the oldest open transaction, or the end) and for a `read_uncommitted` one
    (the high watermark)."""
    tp = TopicPartition(topic, partition)
    ends = []
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation)
        await consumer.start()
        try:
            ends.append((await consumer.end_offsets([tp]))[tp])
        finally:
            await consumer.stop()
    return ends[0], ends[1]


def _main(bootstrap: str, topic: str, transactional_id: str, *values: str) -> None:
    config = {"bootstrap.servers": bootstrap, "transactional.id": transactional_id}
    producer = Producer({**config, "log_level": 3})  # errors only, on the parent's stderr pipe
    producer.init_transactions(30)
    producer.begin_transaction()
    for value in values:
        producer.produce(topic, value.encode())
    producer.flush(30)  # delivered: the records are in the log, inside the open transaction
    print("written", flush=True)
    late = sys.stdin.readline().strip()  # meanwhile the parent freezes, fences and wakes us
    during = "produce"
    try:
        producer.produce(topic, late.encode())
        during = "commit_transaction"
        producer.commit_transaction(30)
        outcome: dict[str, object] = {"code": None}
    except KafkaException as exception:
        error = exception.args[0]
        reason = error.str().rsplit(": ", 1)[-1]
        outcome = {"code": error.name(), "fatal": error.fatal(), "reason": reason, "during": during}
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    _main(*sys.argv[1:])
