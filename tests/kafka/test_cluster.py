"""Replication and failover on a local cluster of three Kafka nodes (lesson 16): what a learner
is told about killed leaders, refused writes, the controller and restarts holds on real Kafka.

Every test leaves all three nodes up for the next one."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eda_lib import quiet_kafka_logs
from eda_lib.kafka import KafkaBroker, replicas, wait_for
from eda_lib.kafka_local import KafkaSetupError, LocalCluster
from eda_lib.kafka_local.__main__ import cluster_status
from eda_lib.kafka_local.cluster import TEACHING_TIMEOUTS
from eda_lib.kafka_local.quorum import describe_quorum
from eda_lib.labs.replication import (
    PLACEMENT,
    ClusterStateError,
    ReplicationLab,
    acks_trials,
    check_log,
)

pytestmark = pytest.mark.cluster


@pytest.fixture
async def broker(kafka_cluster: LocalCluster) -> AsyncIterator[KafkaBroker]:
    quiet_kafka_logs()  # a killed node's refused connections are the point here, not news
    for node in kafka_cluster.node_ids:  # a test that failed half-way may have left one down
        if kafka_cluster.pid(node) is None:
            await asyncio.to_thread(kafka_cluster.restart, node)
    async with KafkaBroker(kafka_cluster.bootstrap) as broker:
        yield broker


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("partition", sorted(PLACEMENT))
async def test_killing_a_partitions_leader_loses_no_acknowledged_write(
    kafka_cluster: LocalCluster, broker: KafkaBroker, partition: int
) -> None:
    lab = ReplicationLab(kafka_cluster, broker, topic=_name("failover"))
    await lab.create(min_insync=2)
    await lab.write(30)
    assert await lab.consume("receipts") == 30
    leader = await lab.leader_of(partition)
    assert leader == PLACEMENT[partition][0]  # placed by hand: the preferred leader leads

    written = await lab.write(90, kill=leader, after=12)

    assert written.killed == leader and kafka_cluster.pid(leader) is None
    after = await lab.partitions()
    assert after[partition].leader not in (None, leader), "the leadership moved"
    assert all(leader not in p.isr for p in after), "the dead node left every ISR"
    check = await lab.check()
    assert check.ok, check
    # Each acknowledged write once, and nothing else.
    assert check.acknowledged == check.in_log == 120 and check.unacknowledged == ()
    # The consumer group carries on: it reads the rest, at least once each, in order per key.
    await lab.consume("receipts")
    assert set(lab.consumed) == {(c, s) for c, s, _, _ in written.acknowledged}
    assert written.failover_seconds is not None and written.failover_seconds < 20
    await lab.restart(leader)
    assert all(len(p.isr) == 3 for p in await lab.wait_until_in_sync())


async def test_acks_all_is_refused_when_too_few_replicas_are_in_sync(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    lab = ReplicationLab(kafka_cluster, broker, topic=_name("refused"))
    await lab.create(min_insync=2)
    await lab.write(12)
    victim = await lab.leader_of(1)
    await lab.kill(victim)
    await lab.wait_for_new_leader(victim)
    await lab.set_min_insync(3)  # two in sync, three needed: as if a second node had gone
    refusal = await lab.send_probe(request_timeout_ms=3000)
    assert refusal.error == "NotEnoughReplicasError"
    assert refusal.seconds < 10, "the refusal surfaces within seconds, not the 40 s default"
    await lab.set_min_insync(2)
    await lab.write(12)  # two in sync, two needed: accepted again
    await lab.restart(victim)
    await lab.wait_until_in_sync()
    check = await lab.check()
    assert check.ok and check.acknowledged == 24
    assert check.unacknowledged == (), "a refused write is not in the log: it was never appended"


async def test_losing_two_of_three_nodes_loses_the_quorum_but_no_acknowledged_write(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    lab = ReplicationLab(kafka_cluster, broker, topic=_name("quorum"))
    await lab.create(min_insync=2)
    await lab.write(24)
    first, second = PLACEMENT[0][:2]
    await lab.kill(first)
    await lab.wait_for_new_leader(first)
    with pytest.raises(ClusterStateError, match="too few for a controller quorum"):
        await lab.kill(second)
    await lab.kill(second, quorum_may_go=True)
    refusal = await lab.send_probe(request_timeout_ms=3000)
    assert refusal.error, "with one node of three left, an acks=all write is not acknowledged"
    assert refusal.seconds < 15
    await asyncio.gather(lab.restart(first), lab.restart(second))
    await lab.wait_until_in_sync(timeout=90)
    check = await lab.check()
    assert check.ok and check.acknowledged == 24
    # The write that timed out was appended by the leader but never confirmed: once the quorum
    # is back it may be committed or truncated. "Timed out" means "unknown", not "not written".
    assert set(check.unacknowledged) <= {"probe-1"}


async def test_a_new_controller_is_elected_and_topics_can_still_be_created(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    before = await asyncio.to_thread(describe_quorum, kafka_cluster.bootstrap)
    assert before.leader in kafka_cluster.node_ids
    assert f"node {before.leader}: up" in cluster_status(kafka_cluster).replace("  ", " ")
    await asyncio.to_thread(kafka_cluster.kill, before.leader)
    deadline = time.monotonic() + 30
    while True:
        try:
            after = await asyncio.to_thread(describe_quorum, kafka_cluster.bootstrap)
            if after.leader != before.leader and after.leader != -1:
                break
        except Exception:  # the asked node may be the dead one, or the election still on
            pass
        assert time.monotonic() < deadline, "no new controller within 30 s"
        await asyncio.sleep(0.3)
    assert after.epoch > before.epoch, "an election starts a new epoch"
    topic = _name("after-election")
    await broker.create_topic(topic, partitions=2)
    assert (await broker.topics())[topic] == 2
    await asyncio.to_thread(kafka_cluster.restart, before.leader)


async def test_acks_trials_count_what_the_producer_was_told_against_what_survived(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    lab = ReplicationLab(kafka_cluster, broker, topic=_name("trials"))
    await lab.create(min_insync=2)
    trial, *weaker = await acks_trials(lab, ("all", 1, 0), sent=600)
    assert trial.lost == 0, trial
    assert trial.sent // 2 <= trial.told <= trial.sent, "what was sent before the kill is acked"
    for trial in weaker:  # a loss here depends on timing: counted, never asserted
        assert 0 <= trial.survived <= trial.told <= trial.sent
    await lab.wait_for_restart()
    assert kafka_cluster.up() == [1, 2, 3], "the last trial's node is back"


def test_check_log_names_what_is_missing_duplicated_or_out_of_order() -> None:
    told = [("ann", 1, 0, 0), ("ann", 2, 0, 1), ("bob", 1, 1, 0)]
    assert check_log(told, [("ann", 1), ("ann", 2), ("bob", 1)]).ok
    bad = check_log(told, [("ann", 2), ("ann", 1), ("ann", 1), ("probe", 1)])
    assert bad.unacknowledged == ("probe-1",)
    assert bad.missing == ("bob-1",)
    assert bad.duplicated == ("ann-1",)
    assert bad.out_of_order == ("ann",)


def test_teaching_timeouts_are_shorter_than_kafkas_defaults() -> None:
    defaults = {"broker.session.timeout.ms": 9000, "replica.lag.time.max.ms": 30000}
    for setting, default in defaults.items():
        assert int(TEACHING_TIMEOUTS[setting]) < default


async def test_default_replication_factor_on_a_cluster_is_three(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    topic = _name("default-rf")
    await broker.create_topic(topic, partitions=2)
    found = await replicas(broker, [topic])
    assert [len(p.replicas) for p in found] == [3, 3]


def test_a_port_taken_is_named(kafka_cluster: LocalCluster, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = LocalCluster(nodes=3, data_dir=tmp_path)
        cluster._plan()
        cluster.node(2).port = port
        with pytest.raises(
            KafkaSetupError, match=f"port {port} on 127.0.0.1 \\(node 2\\) is already taken"
        ):
            cluster.start()
        cluster.stop()


def test_a_quorum_that_cannot_form_says_so(kafka_cluster: LocalCluster, tmp_path: Path) -> None:
    cluster = LocalCluster(nodes=3, data_dir=tmp_path, ready_timeout=12)
    cluster._plan()
    lonely = cluster.node(1)
    lonely.ready_timeout = 12
    lonely.launch()  # one voter of three: no majority, so no controller and no broker
    with pytest.raises(KafkaSetupError, match="did not answer") as refused:
        lonely.wait_until_ready()
    assert "quorum" in str(refused.value) and "Last lines of" in str(refused.value)
    cluster.stop()


async def test_the_whole_cluster_stops_and_starts_with_its_data(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    lab = ReplicationLab(kafka_cluster, broker, topic=_name("durable"))
    await lab.create(min_insync=2)
    await lab.write(30)
    await broker.close()
    await asyncio.to_thread(kafka_cluster.stop)
    assert kafka_cluster.up() == []
    await asyncio.to_thread(kafka_cluster.start)
    assert kafka_cluster.up() == [1, 2, 3]
    async with KafkaBroker(kafka_cluster.bootstrap) as again:
        lab.broker = again
        await wait_for(again, [lab.topic], lambda ps: all(len(p.isr) == 3 for p in ps), 60)
        assert (await lab.check()).ok
        assert (await lab.check()).in_log == 30


async def test_the_safe_topic_exercise_accepts_safe_settings_and_says_why_others_fail(
    kafka_cluster: LocalCluster, broker: KafkaBroker
) -> None:
    from eda_lib.exercises.lesson16 import check_safe_topic

    def creating(  # type: ignore[no-untyped-def]
        factor: int, min_insync: int | None, acks: object, unclean: bool = False
    ):
        async def create(broker: KafkaBroker, name: str) -> object:
            configs = {} if min_insync is None else {"min.insync.replicas": str(min_insync)}
            if unclean:
                configs["unclean.leader.election.enable"] = "true"
            await broker.create_topic(
                name, partitions=3, replication_factor=factor, configs=configs
            )
            return acks

        return create

    wrong = {
        (1, 1, "all"): "only copy",
        (3, None, 1): "acks=1",
        (3, 1, "all"): "min.insync.replicas=1",
        (3, 3, "all"): "every acks=all write is refused",
        (2, 2, "all"): "replication factor 2",
        (3, 2, 0): "acks=0",
        (3, 2, "ALL"): "not a value Kafka's producer takes",
    }
    for (factor, min_insync, acks), why in wrong.items():
        verdict = await check_safe_topic(creating(factor, min_insync, acks), kafka_cluster, broker)
        assert not verdict.passed and why in verdict.message, verdict.message
    verdict = await check_safe_topic(creating(3, 2, "all", True), kafka_cluster, broker)
    assert not verdict.passed and "unclean.leader.election" in verdict.message, verdict.message
    verdict = await check_safe_topic(creating(3, 2, "all"), kafka_cluster, broker)
    assert verdict.passed, verdict.message
    assert "acks='all'. Node" in verdict.message
    assert "eda_lib's producer (acks=all, idempotent)" in verdict.message
    assert "all 36 acknowledged" in verdict.message
    assert kafka_cluster.up() == [1, 2, 3], "the check brings the killed node back"


def test_the_command_line_starts_kills_restarts_and_stops_a_cluster(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from eda_lib.kafka_local import DEFAULT_KAFKA_VERSION
    from eda_lib.kafka_local.tools import fetch_jars

    jars = fetch_jars(DEFAULT_KAFKA_VERSION).parent  # the cached jars, not fetched again
    cache = tmp_path / "cache"
    (cache / "eda-notebooks" / "kafka").mkdir(parents=True)
    (cache / "eda-notebooks" / "kafka" / DEFAULT_KAFKA_VERSION).symlink_to(jars)
    env = {**os.environ, "EDA_CACHE_DIR": str(cache)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "eda_lib.kafka_local", *args],
            env=env, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip

    try:
        started = cli("start", "--brokers", "3")
        assert started.returncode == 0, started.stderr
        assert "cluster of 3 nodes ready" in started.stderr
        assert started.stdout.strip().count("127.0.0.1:") == 3
        status = cli("status").stdout
        assert status.count(": up") == 3 and status.count("active controller") == 1
        assert "killed node 2" in cli("kill", "2").stdout
        assert "node 2: down" in cli("status").stdout
        assert "is not running" in cli("kill", "2").stderr
        assert "node 2 is back" in cli("restart", "2").stdout
        assert cli("status").stdout.count(": up") == 3
        assert "there is no node 7" in cli("kill", "7").stderr
        assert "stopped node 3" in cli("stop", "3").stdout
        assert "node 3: down" in cli("status").stdout
        assert "node 3 is back" in cli("restart", "3").stdout
    finally:
        stopped = cli("stop")
    assert "stopped the cluster" in stopped.stdout
    assert cli("status").returncode == 1
