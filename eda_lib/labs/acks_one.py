"""What `acks=1` can lose, made certain (lesson 16).

With `acks=1` the leader answers once it has appended a record, before any follower has copied
it. A leader that dies in that window takes the record with it, but on a healthy cluster the
window lasts milliseconds, so a random kill rarely hits it. Here the window is made long: the
partition's followers are paused (SIGSTOP), so they cannot fetch, while the leader acknowledges
alone; then the leader is killed and the followers resumed (SIGCONT). One of them leads now, and
its log never had those records.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from typing import Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from eda_lib.kafka import PartitionReplicas, wait_for
from eda_lib.labs.replication import ReplicationLab, settled_end

# A follower's fetch already waiting at the leader is answered within `replica.fetch.wait.max.ms`
# (500 ms by default). Waiting longer after pausing the followers makes sure that no answer
# carrying the records written next sits in a paused follower's socket, read when it resumes.
FETCH_DRAIN_S = 2.0


@dataclass(frozen=True)
class AcksOneLoss:
    """What each producer was told, and what the partition held after the leader died."""

    leader: int
    followers: tuple[int, ...]
    before: tuple[str, ...]  # sent with acks=all while every copy was in sync: acknowledged
    told_acks_one: tuple[str, ...]  # sent with acks=1 while the followers were paused
    acks_all_answer: str  # how an acks=all send with the followers paused ended ("" = stored)
    new_leader: int
    log: tuple[str, ...]  # the partition as its new leader holds it

    @property
    def lost(self) -> tuple[str, ...]:
        """Records the producer was told were stored that the log no longer holds."""
        return tuple(v for v in (*self.before, *self.told_acks_one) if v not in self.log)


def _of(partitions: list[PartitionReplicas], partition: int) -> PartitionReplicas:
    return next(p for p in partitions if p.partition == partition)


async def acks_one_loss(
    lab: ReplicationLab, *, partition: int = 0, count: int = 5, request_timeout_ms: int = 2000
) -> AcksOneLoss:
    """`count` records with acks=all while every copy is in sync; then, with the followers
    paused, `count` records with acks=1 and one with acks=all (which waits for the followers
    until `request_timeout_ms`); then the leader is SIGKILLed and the followers resumed.

    The followers are still in the ISR when they resume: a leader drops a follower only after
    `replica.lag.time.max.ms` (10 s on the lesson's cluster, and this takes about 5 s), and with
    two nodes of three paused no controller could record a change anyway. So one of them is
    elected leader, without the acks=1 records. The killed node comes back in the background
    (`lab.wait_for_restart()` waits for it) and truncates its log to match the new leader's."""
    await lab.wait_for_restart()
    chosen = _of(await lab.wait_until_in_sync(), partition)
    if chosen.leader is None:
        raise RuntimeError(f"partition {partition} has no leader")
    leader = chosen.leader
    followers = tuple(n for n in chosen.replicas if n != leader)
    producers = {
        acks: AIOKafkaProducer(
            **lab.broker.client_options(),
            acks=acks,
            enable_idempotence=False,
            request_timeout_ms=request_timeout_ms,
        )
        for acks in ("all", 1)
    }
    for producer in producers.values():
        await producer.start()

    async def send(acks: Literal["all", 1], value: str) -> str:
        """The error's name, or "" once the producer is told the record is stored."""
        try:
            await producers[acks].send_and_wait(lab.topic, value.encode(), partition=partition)
        except KafkaError as error:
            return type(error).__name__
        return ""

    before, told = [], []
    paused = [pid for n in followers if (pid := lab.cluster.pid(n)) is not None]
    try:
        for i in range(1, count + 1):
            if not await send("all", f"acks=all #{i}"):
                before.append(f"acks=all #{i}")
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        try:  # resume the followers whatever happens: a paused node would hang the cluster
            await asyncio.sleep(FETCH_DRAIN_S)
            for i in range(1, count + 1):
                if not await send(1, f"acks=1 #{i}"):
                    told.append(f"acks=1 #{i}")
            answer = await send("all", "acks=all, followers paused")
            for producer in producers.values():  # stopped before the kill: nothing is retried
                await producer.stop()
            producers.clear()
            await asyncio.to_thread(lab.cluster.kill, leader)
        finally:
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
    finally:
        for producer in producers.values():
            await producer.stop()
    moved = await wait_for(
        lab.broker,
        [lab.topic],
        lambda ps: _of(ps, partition).leader not in (None, leader),
        timeout=60.0,
    )
    await settled_end(lab, partition)  # the new leader's high watermark has caught up
    lab.restarting = asyncio.create_task(lab.restart(leader))
    records = await lab.broker.read(lab.topic, partition, limit=1000)
    return AcksOneLoss(
        leader=leader,
        followers=followers,
        before=tuple(before),
        told_acks_one=tuple(told),
        acks_all_answer=answer,
        new_leader=_of(moved, partition).leader or -1,
        log=tuple((r.value or b"").decode() for r in records),
    )
