"""A paused leader (lesson 16): a node that leads a partition is frozen with SIGSTOP, as in a long
garbage-collection pause or a frozen VM, while an idempotent producer writes with `acks=all`.

The node is not dead: its process and its connections are still there, it just does nothing. The
controller hears no heartbeat from it for `broker.session.timeout.ms`, fences it, takes it out
of every ISR and names a new leader for its partition, in a higher epoch. When the node wakes
(SIGCONT) it learns that it leads nothing, follows the new leader, and cuts from its log what the
new leader does not have. `pause_leader` does all of that and records, every quarter of a second,
the partition's leader, epoch and ISR (from Kafka: `eda_lib.labs.epochs`) and how many payments
the producer has been told are stored. One more payment goes to the frozen node with `acks=1`, to
see what the woken node answers before it learns that it no longer leads.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import KafkaError as AIOKafkaError
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from eda_lib.codecs import KafkaBinary
from eda_lib.kafka_local.cluster import pause, resume
from eda_lib.kafka_local.quorum import describe_quorum_async
from eda_lib.labs.epochs import EpochsUnknown, PartitionEpoch, ask_epochs
from eda_lib.labs.replication import LogCheck, ReplicationLab, payment, sequence_of

SAMPLE_EVERY_S = 0.25
STALE = ("stale", 1)  # the customer and number of the payment sent with acks=1 during the pause
# How long the producer waits for an answer before it gives up on a request and asks for fresh
# metadata. A paused leader never answers, so this is the producer's share of the stall.
REQUEST_TIMEOUT_MS = 4000


@dataclass(frozen=True)
class Sample:
    """The paused partition `at` seconds into the run, and the payments acknowledged by then."""

    at: float
    leader: int | None
    epoch: int
    isr: tuple[int, ...]
    acknowledged: int


@dataclass(frozen=True)
class Rejoin:
    """What the woken node's own log (server.log) says it did: it became a follower of the
    partition in `epoch`, having led it in `previous_epoch`, with its log ending at `log_end`.
    If its log went on past the point where the new leader's log leaves `previous_epoch`, the
    leader said so (in its answer to the node's first fetch) and the node truncated its log to
    `truncated_to`; None when it had nothing beyond that point."""

    epoch: int
    previous_epoch: int
    log_end: int
    truncated_to: int | None

    @property
    def cut(self) -> int:
        """How many records the node dropped from its log."""
        return 0 if self.truncated_to is None else self.log_end - self.truncated_to


@dataclass(frozen=True)
class StaleWrite:
    """One payment sent with `acks=1` to the paused leader while it was frozen, by a producer
    whose metadata still named it. `offset` is where the producer was told it was stored (None
    if it was not told so, `error` then says why); `in_log` whether the log holds it at the end."""

    offset: int | None
    error: str
    told_at: float | None
    in_log: bool

    @property
    def lost(self) -> bool:
        """Acknowledged, and not in the log."""
        return self.offset is not None and not self.in_log


@dataclass(frozen=True)
class PausedLeader:
    """What happened to one partition while its leader was frozen, and after it woke."""

    node: int  # the paused node
    partition: int
    controller: int  # the active controller (never the paused node)
    before: PartitionEpoch
    elected: PartitionEpoch  # the first state with another leader
    rejoined: PartitionEpoch  # the first state with the woken node back in the ISR
    paused_at: float
    elected_at: float
    resumed_at: float
    rejoined_at: float
    samples: tuple[Sample, ...]
    acks: tuple[float, ...]  # when each acknowledgement came, seconds into the run
    rejoin: Rejoin | None  # None if the node's log did not say (it always has here)
    stale: StaleWrite
    check: LogCheck  # every partition's log against the acks=all producer's acknowledgements

    @property
    def back_at(self) -> float | None:
        """When the producer was first acknowledged after the election, seconds into the run."""
        return next((at for at in self.acks if at >= self.elected_at), None)

    def acknowledged_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.acks if start <= at < end)


@dataclass
class _Writer:
    """An idempotent acks=all producer writing the lab's payments, six at a time, until told to
    stop; each acknowledgement goes into the lab's `written`, with when it came."""

    lab: ReplicationLab
    began: float
    producer: AIOKafkaProducer
    acks: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, chunk: int = 6) -> None:
        codec = KafkaBinary()
        while not self.stop.is_set():
            events = [self.lab.next_payment() for _ in range(chunk)]
            pending = []
            for event in events:
                customer, _ = sequence_of(event)
                value, headers = codec.encode(event)
                pending.append(
                    await self.producer.send(
                        self.lab.topic, value, key=customer.encode(), headers=list(headers)
                    )
                )
            for event, metadata in zip(events, await asyncio.gather(*pending), strict=True):
                customer, seq = sequence_of(event)
                self.lab.written.acknowledged.append(
                    (customer, seq, metadata.partition, metadata.offset)
                )
                self.acks.append(time.monotonic() - self.began)
            await asyncio.sleep(0.05)  # a steady stream, not a flood


async def _until(
    samples: list[Sample], condition: Callable[[Sample], bool], timeout: float, what: str
) -> Sample:
    deadline = time.monotonic() + timeout
    seen = len(samples)
    while time.monotonic() < deadline:
        for sample in samples[seen:]:
            if condition(sample):
                return sample
        seen = len(samples)
        await asyncio.sleep(SAMPLE_EVERY_S / 2)
    last = samples[-1] if samples else None
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s; last seen: {last}")


async def pause_leader(
    lab: ReplicationLab,
    *,
    warm_up: float = 2.0,
    after_election: float = 0.5,
    after_rejoin: float = 1.0,
    timeout: float = 30.0,
) -> PausedLeader:
    """Write for `warm_up` seconds; SIGSTOP the leader of a partition whose leader is not the
    active controller; half a second later, send that partition one payment with `acks=1` from
    a producer that still takes the paused node for its leader; SIGCONT the node
    `after_election` seconds after the controller named another leader and the acks=all
    producer was acknowledged again; stop writing `after_rejoin` seconds after the node is
    back in the ISR. Returns the timeline, what the node's log says it did on waking, what
    became of the acks=1 payment, and the check of every partition's log."""
    await lab.wait_for_restart()
    await lab.wait_until_in_sync()
    controller = (await describe_quorum_async(lab.cluster.bootstrap)).leader
    meta = AIOKafkaClient(**lab.broker.client_options(), request_timeout_ms=2000)
    await meta.bootstrap()
    first = await ask_epochs(meta, lab.topic)
    chosen = next((p for p in first if p.leader not in (None, controller)), None)
    if chosen is None or chosen.leader is None:
        await meta.close()
        raise RuntimeError(f"every partition of '{lab.topic}' is led by the controller")
    node, partition = chosen.leader, chosen.partition
    producer = AIOKafkaProducer(
        **lab.broker.client_options(),
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        linger_ms=0,
    )
    await producer.start()
    # The acks=1 producer learns the partition's leader now, before the pause, as a producer
    # that had been writing all along would have.
    stale_producer = AIOKafkaProducer(
        **lab.broker.client_options(),
        acks=1,
        enable_idempotence=False,
        request_timeout_ms=int(timeout * 1000),
        linger_ms=0,
    )
    await stale_producer.start()
    await stale_producer.partitions_for(lab.topic)
    began = time.monotonic()
    writer = _Writer(lab, began, producer)
    samples: list[Sample] = []

    async def sample() -> None:
        while True:
            try:
                # Never the paused node: frozen, it does not answer; just woken, it may not yet
                # know what changed while it slept (its metadata would be the old one).
                state = await ask_epochs(meta, lab.topic, avoid={node})
            except EpochsUnknown:  # no node answered this time: try again
                pass
            else:
                p = state[partition]
                at = time.monotonic() - began
                samples.append(Sample(at, p.leader, p.epoch, p.isr, len(writer.acks)))
            await asyncio.sleep(SAMPLE_EVERY_S)

    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # the producer's timeouts are the point here
    sampling = asyncio.create_task(sample())
    writing = asyncio.create_task(writer.run())
    log_size = lab.cluster.node(node).log_file.stat().st_size
    try:
        await asyncio.sleep(warm_up)
        before = await _until(samples, lambda s: True, timeout, "a first sample")
        pause(lab.cluster, node)
        paused_at = time.monotonic() - began
        await asyncio.sleep(0.5)
        value, headers = KafkaBinary().encode(payment(STALE[0], STALE[1]))
        stale_sent = await stale_producer.send(
            lab.topic, value, key=STALE[0].encode(), headers=list(headers), partition=partition
        )
        answered: list[float] = []  # when the acks=1 producer heard back
        stale_sent.add_done_callback(lambda _: answered.append(time.monotonic() - began))
        elected = await _until(
            samples, lambda s: s.leader not in (None, node), timeout, "a new leader"
        )
        # The producer's request to the frozen node times out; it asks for fresh metadata and
        # sends again, to the new leader. Wake the node only once that has happened, so the
        # timeline shows the producer moving on without it.
        acked = len(writer.acks)
        await _until(
            samples, lambda s: s.acknowledged > acked, timeout, "an acknowledgement after it"
        )
        await asyncio.sleep(after_election)
        resume(lab.cluster, node)
        resumed_at = time.monotonic() - began
        rejoined = await _until(
            samples, lambda s: node in s.isr, timeout, f"node {node} rejoining the ISR"
        )
        stale_offset, stale_error = None, ""
        try:
            stale_offset = (await asyncio.wait_for(stale_sent, timeout)).offset
        except (AIOKafkaError, TimeoutError) as error:
            stale_error = type(error).__name__
        stale_at = answered[0] if stale_offset is not None and answered else None
        await asyncio.sleep(after_rejoin)
        writer.stop.set()
        await asyncio.wait_for(writing, timeout)
    finally:
        resume(lab.cluster, node)  # a frozen node would hang the cluster's next steps
        writer.stop.set()
        sampling.cancel()
        writing.cancel()
        await asyncio.gather(sampling, writing, return_exceptions=True)
        await producer.stop()
        await stale_producer.stop()
        await meta.close()
        aiokafka_log.setLevel(level)
    check = await lab.check()
    stale_name = f"{STALE[0]}-{STALE[1]}"
    return PausedLeader(
        node=node,
        partition=partition,
        controller=controller,
        before=PartitionEpoch(partition, before.leader, before.epoch, before.isr),
        elected=PartitionEpoch(partition, elected.leader, elected.epoch, elected.isr),
        rejoined=PartitionEpoch(partition, rejoined.leader, rejoined.epoch, rejoined.isr),
        paused_at=paused_at,
        elected_at=elected.at,
        resumed_at=resumed_at,
        rejoined_at=rejoined.at,
        samples=tuple(samples),
        acks=tuple(writer.acks),
        rejoin=_rejoin(lab, node, partition, log_size),
        stale=StaleWrite(stale_offset, stale_error, stale_at, stale_name in check.unacknowledged),
        check=check,
    )


_FOLLOWER = re.compile(
    r"Follower (?P<name>\S+) starts at leader epoch (?P<epoch>\d+) from offset (?P<end>\d+) "
    r".*previous leader epoch was (?P<previous>-?\d+)"
)
_TRUNCATED = re.compile(
    r"Truncating partition (?P<name>\S+) with TruncationState\(offset=(?P<to>\d+).*"
    r"due to leader epoch and offset"
)


def _rejoin(lab: ReplicationLab, node: int, partition: int, since: int) -> Rejoin | None:
    """What the woken node's log says after `since` bytes: the line with which it became the
    partition's follower, and the truncation its replica fetcher made if the new leader said
    their logs part ways."""
    with lab.cluster.node(node).log_file.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    name = f"{lab.topic}-{partition}"
    found: Rejoin | None = None
    for line in text.splitlines():
        if (became := _FOLLOWER.search(line)) and became["name"] == name and found is None:
            found = Rejoin(int(became["epoch"]), int(became["previous"]), int(became["end"]), None)
        elif (cut := _TRUNCATED.search(line)) and cut["name"] == name and found is not None:
            found = Rejoin(found.epoch, found.previous_epoch, found.log_end, int(cut["to"]))
    return found


def epochs_in_log(
    bootstrap: str, topic: str, partition: int, timeout: float = 15.0
) -> dict[int, int]:
    """How many records of the partition each leader epoch appended, read with librdkafka:
    every record batch carries the epoch of the leader that appended it, and librdkafka 2.1 and
    later hands it over with each message (`Message.leader_epoch()`; confluent-kafka-go v2:
    `TopicPartition.LeaderEpoch`). The course's v1.9.2 does not expose it."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "epoch-reader",  # assign() needs none, but librdkafka asks for one
            "enable.auto.commit": False,  # commits nothing, leaves no offsets behind
            "enable.partition.eof": True,  # says when it has read to the end
            "log_level": 4,
        }
    )
    counts: Counter[int] = Counter()
    try:
        reader.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return dict(sorted(counts.items()))
                raise RuntimeError(f"reading {topic}[{partition}] failed: {error}")
            epoch = message.leader_epoch()
            counts[-1 if epoch is None else epoch] += 1
    finally:
        reader.close()
    raise TimeoutError(f"{topic}[{partition}] was not read to its end within {timeout:.0f} s")


def leader_epoch_file(lab: ReplicationLab, node: int, partition: int) -> dict[int, int]:
    """The node's `leader-epoch-checkpoint` file for the lab's partition: Kafka's own record of
    each leader epoch in its log and the offset at which it began (the file holds a version
    line, a count line, then one `epoch start-offset` line per epoch)."""
    data = lab.cluster.node(node).data_dir
    if data is None:
        raise RuntimeError(f"node {node} has no data directory: is the cluster running?")
    path = data / "data" / f"{lab.topic}-{partition}" / "leader-epoch-checkpoint"
    lines = path.read_text().split("\n")
    count = int(lines[1])
    return {int(e): int(o) for e, o in (line.split() for line in lines[2 : 2 + count])}
