"""Self-checking exercises of lesson 16 (replication and failover). Each check says right or
wrong and why, in one message.

1. `unwritable_after_losing(partitions, node, min_insync)`: which partitions could not take an
   `acks=all` write if `node` died (refused with NotEnoughReplicas by the copy in sync that
   leads, or, with no copy in sync left to lead, left waiting until the producer's request
   times out). Checked on layouts where each wrong rule gives itself away.
2. `create_safe_topic(broker, name)`: create a topic that keeps every acknowledged write when any
   one node dies and still takes writes; return the `acks` your producer should use. Checked
   from the topic the cluster really made, then proved by killing its partition 0's leader while
   writing to it.
3. `truncate_to(mine, leader_epochs, leader_end, high_watermark)`: the offset a woken former
   leader, or any follower, cuts its log to, from its records' epochs and the new leader's
   epochs (the offset the new leader names in its answer to the node's fetch; older Kafka: to
   OffsetsForLeaderEpoch). Checked on logs where each wrong rule (the high watermark, the
   leader's end, keeping everything, epoch + 1, the leader's current or last epoch, no cap at
   the node's own end, ignoring an epoch the leader never had) gives itself away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from eda_lib.brokers.base import BrokerError
from eda_lib.exercises.checks import Check, fail
from eda_lib.kafka import KafkaBroker, PartitionReplicas, replicas, topic_config
from eda_lib.kafka_local import LocalCluster
from eda_lib.labs.replication import ReplicationLab

UnwritableRule = Callable[[Sequence[PartitionReplicas], int, int], Collection[int]]


def _p(
    partition: int, leader: int, replicas: tuple[int, ...], isr: tuple[int, ...]
) -> PartitionReplicas:
    return PartitionReplicas("payments", partition, leader, replicas, isr)


@dataclass(frozen=True)
class _Case:
    why: str
    partitions: tuple[PartitionReplicas, ...]
    node: int
    min_insync: int
    expected: frozenset[int]


_CASES = (
    _Case(
        "all three in sync, one node lost: two are left, enough for min.insync.replicas=2",
        (_p(0, 1, (1, 2, 3), (1, 2, 3)), _p(1, 2, (2, 3, 1), (2, 3, 1))),
        1,
        2,
        frozenset(),
    ),
    _Case(
        "node 3 had already fallen behind on partition 0: losing node 1 leaves one in sync",
        (_p(0, 1, (1, 2, 3), (1, 2)), _p(1, 2, (2, 3, 1), (2, 3, 1))),
        1,
        2,
        frozenset({0}),
    ),
    _Case(
        "losing a node that holds no copy of a partition changes nothing for it",
        (_p(0, 1, (1, 2), (1, 2)), _p(1, 3, (3, 4), (3,))),
        4,
        1,
        frozenset(),
    ),
    _Case(
        "a follower lost counts as much as a leader lost: the ISR shrinks either way",
        (_p(0, 1, (1, 2, 3), (1, 2, 3)), _p(1, 2, (2, 3, 1), (2, 3, 1))),
        3,
        3,
        frozenset({0, 1}),
    ),
    _Case(
        "a partition that is short of copies in sync already refuses, whichever node is lost",
        (_p(0, 1, (1, 2, 3), (1, 2, 3)), _p(1, 3, (3, 2, 4), (3,))),
        1,
        2,
        frozenset({1}),
    ),
    _Case(
        "a copy that is not in sync does not count, even on a node that stays up",
        (_p(0, 2, (1, 2, 3), (2, 1)),),
        1,
        2,
        frozenset({0}),
    ),
    _Case(
        "name each partition by its number, p.partition, not by its place in the list: "
        "here the list holds partitions 5 and 2, in that order",
        (_p(5, 2, (2, 3, 1), (2, 3, 1)), _p(2, 1, (1, 2, 3), (1, 2))),
        1,
        2,
        frozenset({2}),
    ),
)


def check_unwritable(rule: UnwritableRule) -> Check:
    """Right when `rule` names, for each layout, exactly the partitions that could not take an
    acks=all write."""
    for case in _CASES:
        try:
            answer = frozenset(rule(case.partitions, case.node, case.min_insync))
        except Exception as error:  # the learner's code: report, do not crash the lesson
            return fail(f"your function raised {type(error).__name__}: {error}", "see the error")
        if answer != case.expected:
            return fail(
                f"losing node {case.node} with min.insync.replicas={case.min_insync}, you said "
                f"{sorted(answer)}, but these could not take an acks=all write: "
                f"{sorted(case.expected)}",
                case.why,
            )
    return Check(
        True,
        "right: a partition cannot take acks=all writes when its in-sync replicas without the "
        "lost node are fewer than min.insync.replicas. If one of them is left, it leads and "
        "refuses the writes (NotEnoughReplicas); if none is, the partition has no leader and "
        "the writes wait until they time out",
    )


SafeTopic = Callable[[KafkaBroker, str], Awaitable[object]]


async def check_safe_topic(
    create: SafeTopic, cluster: LocalCluster, broker: KafkaBroker, name: str = "safe-payments"
) -> Check:
    """Run the learner's `create(broker, name)`, read back what the cluster made, and if the
    settings look right, prove them: kill partition 0's leader while eda_lib's producer writes.
    That producer always uses acks=all (and idempotence); only an `acks` that means acks=all
    gets this far, so the proof is of the learner's setting."""
    for node in cluster.node_ids:  # the proof kills one node: the others must be up
        if cluster.pid(node) is None:
            await asyncio.to_thread(cluster.restart, node)
    if name in await broker.topics():
        await broker.delete_topic(name)
    try:
        acks = await create(broker, name)
    except Exception as error:  # the learner's code: say what it did, do not crash the lesson
        return fail(f"your function raised {type(error).__name__}: {error}", "see the error")
    try:  # asks again while the node it asks has not heard of the new topic yet
        layout = await replicas(broker, [name])
    except BrokerError:
        return fail(f"no topic '{name}' was created", "call broker.create_topic(name, ...)")
    if len(layout) != 3:
        return fail(f"'{name}' has {len(layout)} partitions", "ask for partitions=3")
    factor = min(len(p.replicas) for p in layout)
    configured = await topic_config(
        broker, name, ["min.insync.replicas", "unclean.leader.election.enable"]
    )
    min_insync = int(configured["min.insync.replicas"])
    unclean = configured["unclean.leader.election.enable"] == "true"
    problem = _settings_problem(factor, min_insync, acks, unclean)
    if problem:
        return fail(*problem)
    lab = ReplicationLab(cluster, broker, topic=name)
    leader = await lab.leader_of(0)
    written = await lab.write(36, kill=leader, after=12)
    check = await lab.check()
    restarting = asyncio.create_task(lab.restart(leader))
    if not check.ok or check.acknowledged != 36:
        await restarting
        return fail(
            f"with node {leader} killed, the log does not hold what was acknowledged: {check}",
            "look at the settings again",
        )
    await restarting
    yours = "acks='all'" if acks == "all" else f"acks={acks!r}, which is acks=all"
    went_on = (
        ""
        if written.failover_seconds is None
        else f", and writes went on after {written.failover_seconds:.1f} s"
    )
    return Check(
        True,
        f"right: replication factor {factor}, min.insync.replicas={min_insync}, {yours}. "
        f"Node {leader} was killed while eda_lib's producer "
        f"(acks=all, idempotent) wrote to '{name}': all {len(written.acknowledged)} "
        f"acknowledged payments are in the log once, in order{went_on}",
    )


def _settings_problem(
    factor: int, min_insync: int, acks: object, unclean: bool
) -> tuple[str, str] | None:
    if factor < 2:
        return (
            f"replication factor {factor}: the only copy of a partition is on one node, and when "
            "that node dies, so do its events",
            "ask for replication_factor=3",
        )
    if factor < 3:
        return (
            f"replication factor {factor}: with one node down a single copy is left, so either "
            "writes are refused (min.insync.replicas=2) or they rest on that one copy (1)",
            "ask for replication_factor=3 and min.insync.replicas=2",
        )
    setting = _acks_setting(acks)
    if setting is None:
        return (
            f"acks={acks!r} is not a value Kafka's producer takes: its config (Java's "
            "ProducerConfig) accepts exactly 'all', '-1', '0' or '1', compared as written, and "
            "refuses anything else, 'ALL' too, so the producer does not start",
            "return 'all', in lowercase",
        )
    if setting == "0":
        return (
            "acks=0: the producer is told nothing, so whatever was on its way to a dying leader "
            "is lost without a word",
            "return 'all'",
        )
    if setting == "1":
        return (
            f"acks={acks!r}: the leader answers before any follower has the record, so a leader "
            "that dies right after answering takes acknowledged events with it",
            "return 'all'",
        )
    if min_insync < 2:
        return (
            f"min.insync.replicas={min_insync}: with acks=all, a leader whose followers have all "
            "fallen behind still acknowledges alone, and its death loses what it acknowledged",
            "ask for 2: configs={'min.insync.replicas': '2'}",
        )
    if min_insync > factor - 1:
        return (
            f"min.insync.replicas={min_insync} with {factor} replicas: with one node down only "
            f"{factor - 1} can be in sync, so every acks=all write is refused: nothing is lost, "
            "but the topic stops taking payments",
            "ask for one fewer than the replication factor",
        )
    if unclean:
        return (
            "unclean.leader.election.enable=true: when every in-sync replica is gone, a replica "
            "that fell behind may become leader, and the acknowledged records it lacks are lost",
            "leave it at its default, false: the partition waits for an in-sync replica instead",
        )
    return None


def _acks_setting(acks: object) -> str | None:
    """`acks` as Kafka's producer config spells it: 'all', '-1' (the same as 'all'), '0' or
    '1'; None for any other value. The comparison is exact, as in Kafka's Java ProducerConfig
    (`ValidString.in("all", "-1", "0", "1")`), so 'ALL' is refused. The numbers -1, 0 and 1
    count as their strings, as Python clients such as aiokafka take them."""
    if isinstance(acks, bool):  # True == 1 in Python, but is not an acks setting
        return None
    if isinstance(acks, int):
        acks = str(acks)
    if acks in ("all", "-1", "0", "1"):
        return str(acks)
    return None


TruncationRule = Callable[[Sequence[int], Mapping[int, int], int, int], int]


@dataclass(frozen=True)
class _Woken:
    why: str
    mine: tuple[int, ...]  # the woken node's log: the leader epoch of each record, by offset
    leader_epochs: dict[int, int]  # the new leader's epochs: epoch -> its first offset
    leader_end: int  # the new leader's log end offset
    high_watermark: int  # the last high watermark the woken node had heard of
    expected: int


_WOKEN = (
    _Woken(
        "as in section 6: the node led epoch 0 and had appended offsets 0 to 11; the new "
        "leader had copied 0 to 9 when it took over at offset 10, in epoch 1, and has written "
        "on since",
        (0,) * 12,
        {0: 0, 1: 10},
        25,
        8,
        10,
    ),
    _Woken(
        "the node led epoch 0 and slept through two elections: epoch 1 began at offset 10, "
        "epoch 2 at offset 14, so the leader's log leaves epoch 0 at 10",
        (0,) * 12,
        {0: 0, 1: 10, 2: 14},
        20,
        8,
        10,
    ),
    _Woken(
        "the node led epoch 2; two elections followed while it was frozen, and epoch 3's "
        "leader, a third node, appended nothing, so the new leader's epochs are 0, 2 and 4, "
        "not 3",
        (0, 0, 0, 2, 2, 2, 2, 2),
        {0: 0, 2: 3, 4: 6},
        9,
        5,
        6,
    ),
    _Woken(
        "a follower that was behind: its log ends before its last epoch ended in the leader's, "
        "so it has nothing to cut and fetches the rest",
        (0, 0, 0, 1, 1),
        {0: 0, 1: 3, 2: 9},
        15,
        4,
        5,
    ),
    _Woken(
        "nothing to cut: everything the node had, the new leader had copied",
        (0,) * 10,
        {0: 0, 1: 10},
        25,
        10,
        10,
    ),
    _Woken(
        "the node led epoch 2 from offset 3, but the new leader never had epoch 2: its log "
        "holds epoch 0 up to offset 4, then epoch 3. The node's offsets 3 and 4 are of epoch 2, "
        "so they are not the leader's",
        (0, 0, 0, 2, 2),
        {0: 0, 3: 4},
        6,
        3,
        3,
    ),
    _Woken(
        "a new follower, its log still empty: nothing to cut",
        (),
        {0: 0, 1: 10},
        25,
        0,
        0,
    ),
)


def _hint(case: _Woken, answer: int) -> str:
    """What the wrong offset suggests the rule was, and what to look at instead."""
    if answer == case.high_watermark != case.expected:
        return (
            "that is the node's high watermark: records above it may be in the new leader's "
            "log too, and cutting them means fetching them again (before Kafka 0.11 followers "
            "did this, and a second failure in between lost them). Ask the leader instead"
        )
    if answer == case.leader_end:
        return (
            "that is the new leader's log end: the node's records below it that the leader "
            "never had would stay, and the two copies would differ at the same offsets"
        )
    if answer == len(case.mine):
        return (
            "that keeps the node's whole log: look for where its last epoch ends in the new "
            "leader's log (the first epoch after it there, not the leader's current one)"
        )
    if answer > len(case.mine):
        return "a node cannot keep records it does not have: it cuts at most at its own end"
    if case.mine and case.mine[-1] not in case.leader_epochs:
        return (
            f"the new leader has no epoch {case.mine[-1]}: it answers for the largest epoch it "
            "has that is not above it, and the node's own log may leave that epoch sooner"
        )
    return "look up where the node's last epoch ends in the new leader's log"


def _raised_hint(error: Exception) -> str:
    if isinstance(error, IndexError):
        return "a log can be empty: then there is nothing to cut"
    return "an epoch need not be the last one plus one: look at the epochs the leader has"


def check_truncation(rule: TruncationRule) -> Check:
    """Right when `rule(mine, leader_epochs, leader_end, high_watermark)` gives, for each woken
    node or follower, the offset Kafka's follower truncates its log to."""
    for case in _WOKEN:
        try:
            answer = rule(case.mine, dict(case.leader_epochs), case.leader_end, case.high_watermark)
        except Exception as error:  # the learner's code: report, do not crash the lesson
            return fail(
                f"your function raised {type(error).__name__}: {error}; the case: {case.why}",
                _raised_hint(error),
            )
        if answer != case.expected:
            return fail(
                f"you cut at offset {answer}, Kafka at {case.expected}; the case: {case.why}",
                _hint(case, answer),
            )
    return Check(
        True,
        f"right on {len(_WOKEN)} logs (woken leaders and followers, one empty): each cuts at "
        "the smaller of where the new leader's log leaves the largest epoch it has that is not "
        "above the node's last one (the first offset of a later epoch, or the leader's log "
        "end) and where the node's own log leaves that epoch",
    )
