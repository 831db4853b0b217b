"""Replication and failover on a local three-node Kafka cluster (lesson 16).

`ReplicationLab` owns one replicated topic of payments. It writes them while a node is killed,
reads the log back and checks what the producer was told against what the log holds, shows that
`acks=all` with too few in-sync replicas is refused, and runs `acks` trials: the same stream with
the leader killed in the middle, counted (`eda_lib.labs.acks_one` makes the loss `acks=1` risks
certain). Each action is a method, so the broker panel and the lesson's code take the same path.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX
from eda_lib.codecs import KafkaBinary, decode_message
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.kafka import (
    KafkaBroker,
    PartitionReplicas,
    create_placed_topic,
    replicas,
    set_topic_config,
    topic_config,
    wait_for,
)
from eda_lib.kafka_local import LocalCluster
from eda_lib.messaging import Consumer, Producer
from eda_lib.resilience import settle

Acks = Literal[0, 1, "all"]
TOPIC = "payments-replicated"
# Each partition's preferred leader is a different node, so killing any node moves a leader.
PLACEMENT = {0: (1, 2, 3), 1: (2, 3, 1), 2: (3, 1, 2)}
CUSTOMERS = ("ann", "bob", "cy", "dee", "eve", "fay")


def payment(customer: str, seq: int) -> PaymentSuccessful:
    """The `seq`-th payment of `customer`: keyed by customer, so one customer's stay in order."""
    return PaymentSuccessful(
        payment_id=f"{customer}-{seq}", order_id=customer, amount=100 + seq, currency="EUR"
    )


def sequence_of(event: PaymentSuccessful) -> tuple[str, int]:
    customer, seq = event.payment_id.rsplit("-", 1)
    return customer, int(seq)


@dataclass
class Written:
    """What a producer was told: each acknowledged payment and where it was stored."""

    acknowledged: list[tuple[str, int, int, int]] = field(default_factory=list)
    killed: int | None = None
    failover_seconds: float | None = None  # from the kill to the first acknowledgement after it


@dataclass(frozen=True)
class LogCheck:
    """What the producer was told, held against what the log holds."""

    acknowledged: int
    in_log: int
    unacknowledged: tuple[str, ...]  # in the log although the producer was not told so
    missing: tuple[str, ...]
    duplicated: tuple[str, ...]
    out_of_order: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Every acknowledged payment is in the log once, each customer's in the order sent."""
        return not (self.missing or self.duplicated or self.out_of_order)


@dataclass(frozen=True)
class ProbeAnswer:
    """How one `acks=all` probe send ended: `error` is the exception's name, "" if it was
    acknowledged; `seconds` until the producer knew."""

    error: str
    seconds: float


@dataclass(frozen=True)
class Trial:
    """One `acks` trial: the leader killed mid-stream. `told` counts the sends the producer
    reported as successful; `survived` those of them the log still holds afterwards."""

    acks: Acks
    sent: int
    told: int
    survived: int
    duplicated: int

    @property
    def lost(self) -> int:
        return self.told - self.survived


class ClusterStateError(RuntimeError):
    """An action that does not fit the cluster's state now; the message says what to do first."""


class ReplicationLab:
    """One replicated topic on a `LocalCluster`, written and read through a `KafkaBroker`."""

    def __init__(self, cluster: LocalCluster, broker: KafkaBroker, topic: str = TOPIC) -> None:
        self.cluster = cluster
        self.broker = broker
        self.topic = topic
        self.written = Written()
        self.next_seq: Counter[str] = Counter()
        self.consumed: list[tuple[str, int]] = []
        self.probes = 0  # single sends that were expected to be refused
        self.restarting: asyncio.Task[float] | None = None  # a node coming back in the background

    async def create(self, *, min_insync: int = 2) -> list[PartitionReplicas]:
        """The topic, new and empty (one an earlier run left is deleted first, with its
        dead-letter topic), and this lab's counts from zero."""
        existing = await self.broker.topics()
        for name in (self.topic, f"{self.topic}{DEAD_LETTER_SUFFIX}"):
            if name in existing:
                await self.broker.delete_topic(name)
        self.written, self.next_seq, self.consumed, self.probes = Written(), Counter(), [], 0
        configs = {"min.insync.replicas": str(min_insync)}
        return await create_placed_topic(self.broker, self.topic, PLACEMENT, configs)

    async def partitions(self) -> list[PartitionReplicas]:
        return await replicas(self.broker, [self.topic])

    async def leader_of(self, partition: int) -> int:
        leader = (await self.partitions())[partition].leader
        if leader is None:
            raise RuntimeError(f"partition {partition} has no leader: its replicas are all down")
        return leader

    async def kill(self, node: int, *, quorum_may_go: bool = False) -> None:
        """SIGKILL `node`. Killing one that would leave fewer than most nodes up (the controller
        quorum) is refused unless `quorum_may_go`: then nothing can elect a leader, and a
        producer that retries without end (an idempotent one) would wait for ever."""
        await self.wait_for_restart()
        up = self.cluster.up()
        if node not in up:
            raise ClusterStateError(f"node {node} is already down. Fix: restart it first")
        if len(up) - 1 < len(self.cluster.node_ids) // 2 + 1 and not quorum_may_go:
            down = sorted(set(self.cluster.node_ids) - set(up))
            raise ClusterStateError(
                f"killing node {node} would leave {len(up) - 1} of {len(self.cluster.node_ids)} "
                f"nodes, too few for a controller quorum. Fix: restart node(s) {down} first "
                "(`await lab.restart(n)`), or pass quorum_may_go=True on purpose"
            )
        await asyncio.to_thread(self.cluster.kill, node)

    async def restart(self, node: int) -> float:
        """Start `node` again; returns the seconds until the cluster lists it (at once, without
        waiting, if too few nodes are up for a quorum: the node waits for the others)."""
        if self.cluster.pid(node) is not None:
            raise ClusterStateError(f"node {node} is already running")
        return await asyncio.to_thread(self.cluster.restart, node)

    async def wait_for_restart(self) -> None:
        """Wait for a node that is coming back in the background (after `acks_trials`)."""
        if self.restarting is not None:
            restarting, self.restarting = self.restarting, None
            await restarting

    async def wait_until_in_sync(self, timeout: float = 60.0) -> list[PartitionReplicas]:
        """Until every partition has all its replicas in sync again (after a restart)."""
        return await wait_for(
            self.broker, [self.topic], lambda ps: not any(p.under_replicated for p in ps), timeout
        )

    async def wait_for_new_leader(self, node: int, timeout: float = 30.0) -> None:
        await wait_for(
            self.broker, [self.topic], lambda ps: all(p.leader != node for p in ps), timeout
        )

    async def write(
        self, count: int, *, kill: int | None = None, after: int = 0, chunk: int = 6
    ) -> Written:
        """Send `count` payments, `chunk` at a time with `acks=all` and idempotence (the
        broker's producer); with `kill`, SIGKILL that node once `after` have been sent, while
        the next chunk is in flight. Every acknowledgement is kept in `self.written`."""
        producer = Producer(self.broker, "payments")
        killing: asyncio.Task[float] | None = None
        for first in range(0, count, chunk):
            if kill is not None and killing is None and first >= after:
                killing = asyncio.create_task(self._kill_and_note(kill))
                self.written.killed = kill
            events = [self.next_payment() for _ in range(min(chunk, count - first))]
            sent_at = time.monotonic()
            reports = await producer.send_all(self.topic, events)
            # Failover: from the moment the node was gone to the first acknowledgement of a
            # chunk sent after that moment.
            if (
                killing is not None
                and killing.done()
                and self.written.failover_seconds is None
                and sent_at >= (gone := killing.result())
            ):
                self.written.failover_seconds = time.monotonic() - gone
            for event, report in zip(events, reports, strict=True):
                customer, seq = sequence_of(event)
                self.written.acknowledged.append((customer, seq, report.partition, report.offset))
        if killing is not None:
            await killing
        return self.written

    async def _kill_and_note(self, node: int) -> float:
        await self.kill(node)
        return time.monotonic()

    def next_payment(self) -> PaymentSuccessful:
        """The next payment to write: customers in turn, each with its own sequence number."""
        customer = CUSTOMERS[sum(self.next_seq.values()) % len(CUSTOMERS)]
        self.next_seq[customer] += 1
        return payment(customer, self.next_seq[customer])

    async def log(self) -> list[tuple[str, int]]:
        """Every payment in the topic, partition by partition, in offset order."""
        found = []
        for p in await self.partitions():
            start = 0
            while True:
                batch = await self.broker.read(self.topic, p.partition, start=start, limit=500)
                for record in batch:
                    event = decode_message(record.value, record.headers)
                    assert isinstance(event, PaymentSuccessful)
                    found.append(sequence_of(event))
                if len(batch) < 500:
                    break
                start = batch[-1].offset + 1
        return found

    async def check(self) -> LogCheck:
        return check_log(self.written.acknowledged, await self.log())

    async def consume(self, group: str = "receipts", timeout: float = 30.0) -> int:
        """A consumer group reads everything there is (it may have read part of it before a
        node died); returns how many it read this time."""

        async def note(event: PaymentSuccessful) -> None:
            self.consumed.append(sequence_of(event))

        async with Consumer(
            self.broker, group, self.topic, note, poll_timeout=0.5, start="earliest"
        ) as consumer:
            report = await consumer.run(timeout=timeout, until_idle=True)
        return report.handled

    async def send_probe(
        self, request_timeout_ms: int = 3000, partition: int | None = None
    ) -> ProbeAnswer:
        """One `acks=all` send (to `partition`, else where its key falls) from a plain producer
        that gives up after `request_timeout_ms` (aiokafka's idempotent producer would retry
        this one without end): refused, timed out or acknowledged, the answer says which."""
        client = AIOKafkaProducer(
            **self.broker.client_options(),
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=request_timeout_ms,
        )
        await client.start()
        self.probes += 1
        value, headers = KafkaBinary().encode(payment("probe", self.probes))
        began = time.monotonic()
        try:
            await client.send_and_wait(
                self.topic, value, key=b"probe", headers=list(headers), partition=partition
            )
            return ProbeAnswer("", time.monotonic() - began)
        except Exception as error:  # the point is to show which error: keep it
            return ProbeAnswer(type(error).__name__, time.monotonic() - began)
        finally:
            await client.stop()

    async def set_min_insync(self, replicas_needed: int) -> None:
        """Change the topic's `min.insync.replicas`; returns once the cluster reports the new
        value (brokers learn a change through the metadata log, a moment later)."""
        wanted = str(replicas_needed)
        await set_topic_config(self.broker, self.topic, {"min.insync.replicas": wanted})
        for _ in range(50):
            found = await topic_config(self.broker, self.topic, ["min.insync.replicas"])
            if found.get("min.insync.replicas") == wanted:
                await asyncio.sleep(0.5)  # every broker, not only the one asked, applies it
                return
            await asyncio.sleep(0.1)
        raise ClusterStateError(f"min.insync.replicas did not become {wanted} within 5 s")


def check_log(
    acknowledged: Sequence[tuple[str, int, int, int]], log: Sequence[tuple[str, int]]
) -> LogCheck:
    """Each acknowledged payment must be in the log exactly once, and each customer's payments
    must appear in the order they were sent. A send the producer was told failed may still be
    in the log (a timeout means "no answer", not "not written"): listed, not an error."""
    counts = Counter(log)
    told = {(c, s) for c, s, _, _ in acknowledged}
    per_customer: dict[str, list[int]] = {}
    for customer, seq in log:
        per_customer.setdefault(customer, []).append(seq)
    return LogCheck(
        acknowledged=len(told),
        in_log=len(log),
        unacknowledged=tuple(f"{c}-{s}" for c, s in sorted(set(counts) - told)),
        missing=tuple(f"{c}-{s}" for c, s in sorted(told - set(counts))),
        duplicated=tuple(f"{c}-{s}" for (c, s), n in sorted(counts.items()) if n > 1),
        out_of_order=tuple(c for c, seqs in sorted(per_customer.items()) if seqs != sorted(seqs)),
    )


async def acks_trials(
    lab: ReplicationLab,
    settings: Sequence[Acks] = ("all", 1, 0),
    *,
    sent: int = 1000,
    partition: int = 0,
) -> list[Trial]:
    """One producer per `acks` setting, side by side, each streaming `sent` records to the same
    partition (together about one a millisecond each); SIGKILL the partition's leader halfway
    while they go on, then count, per setting, what the producer was told against what the new
    leader's log holds. One kill for every setting: each meets the same failover. The node comes
    back in the background (`lab.wait_for_restart()` waits for it)."""
    await lab.wait_for_restart()
    leader = await lab.leader_of(partition)
    before = await lab.broker.describe([lab.topic])
    start = next(p.end_offset for p in before.partitions if p.partition == partition)
    clients = {
        acks: AIOKafkaProducer(
            **lab.broker.client_options(),
            acks=acks,
            enable_idempotence=False,
            # Longer than a failover (about 3 s here), so a send can outlive the dead leader.
            request_timeout_ms=10_000,
            linger_ms=0,
        )
        for acks in settings
    }
    for client in clients.values():
        await client.start()
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(_quiet_about_the_dead_leader(previous))
    tags = {acks: f"{acks}-{start}-" for acks in settings}
    pending: dict[str, asyncio.Future[Any]] = {}
    killing: asyncio.Task[None] | None = None
    try:
        for i in range(sent):
            if i == sent // 2:
                killing = asyncio.create_task(lab.kill(leader))
            for acks, client in clients.items():
                value = f"{tags[acks]}{i}"
                with contextlib.suppress(KafkaError):  # refused at once (no leader too long)
                    pending[value] = await client.send(
                        lab.topic, value.encode(), partition=partition
                    )
            await asyncio.sleep(0.001)  # a stream, not one burst: the kill lands mid-way
        outcomes = await asyncio.gather(*pending.values(), return_exceptions=True)
    finally:
        for client in clients.values():
            await client.stop()
        clients.clear()
        gc.collect()  # aiokafka's orphaned futures are reported now, while the handler is ours
        loop.set_exception_handler(previous)
    if killing is not None:
        await killing
    told = {v for v, o in zip(pending, outcomes, strict=True) if not isinstance(o, BaseException)}
    # What survived is what the new leader holds: the old one, when it is back, truncates its
    # log to match, so there is no need to wait for it.
    await lab.wait_for_new_leader(leader)
    await settled_end(lab, partition)
    lab.restarting = asyncio.create_task(lab.restart(leader))
    kept: Counter[str] = Counter()
    offset = start
    while True:
        batch = await lab.broker.read(lab.topic, partition, start=offset, limit=1000)
        kept.update((r.value or b"").decode() for r in batch)
        if len(batch) < 1000:
            break
        offset = batch[-1].offset + 1
    trials = []
    for acks in settings:
        mine = {v for v in told if v.startswith(tags[acks])}
        trials.append(
            Trial(
                acks=acks,
                sent=sent,
                told=len(mine),
                survived=len(mine & set(kept)),
                duplicated=sum(1 for v, n in kept.items() if n > 1 and v.startswith(tags[acks])),
            )
        )
    return trials


async def settled_end(lab: ReplicationLab, partition: int, attempts: int = 30) -> None:
    """Until the partition's end offset stops moving. A reader sees a new leader's log only up
    to its high watermark, which moves up once the remaining follower has fetched: counting
    before that would call records lost that are merely not yet confirmed."""
    last = -1

    async def still() -> bool:
        nonlocal last
        state = await lab.broker.describe([lab.topic])
        end = next(p.end_offset for p in state.partitions if p.partition == partition)
        unchanged, last = end == last, end
        return unchanged

    await settle(still, timeout=attempts * 0.4, every=0.4)


def _quiet_about_the_dead_leader(previous: Any) -> Any:
    """An event-loop exception handler that drops aiokafka's report of a future nobody awaited
    when the killed leader reset its connection (with acks=0 its sender then stops, and every
    later send raises: counted as not told). Anything else goes where it went before."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), KafkaError):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    return handle
