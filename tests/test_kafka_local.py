"""Setting up a local Kafka broker: clear errors when something is missing, and one broker, not
two, when an earlier one is still running."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest

from eda_lib import InMemoryBroker, open_broker
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import KafkaSetupError, LocalKafka
from eda_lib.kafka_local import __main__ as cli
from eda_lib.kafka_local.tools import fetch_jars


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


def test_no_java_says_install_a_jdk(empty_path: None) -> None:
    with pytest.raises(KafkaSetupError, match=r"`java` is not on PATH: install a JDK 17"):
        LocalKafka().start()


def test_no_maven_says_install_it_or_use_kafka_bootstrap(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(KafkaSetupError, match=r"`mvn` is not on PATH.*KAFKA_BOOTSTRAP"):
        fetch_jars("4.4.0")


async def test_a_lesson_falls_back_to_memory_and_says_why(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("EDA_REQUIRE_KAFKA", raising=False)
    broker = await open_broker("kafka")
    assert isinstance(broker, InMemoryBroker)
    said = capsys.readouterr().out.strip().splitlines()
    assert said == [
        "Kafka is not available here (`java` is not on PATH: install a JDK 17 or "
        "newer (e.g. `apt-get install openjdk-17-jre-headless`, or `conda install "
        "-c conda-forge openjdk>=17`)); using InMemoryBroker instead."
    ]
    monkeypatch.setenv("EDA_REQUIRE_KAFKA", "1")
    with pytest.raises(KafkaSetupError):
        await open_broker("kafka")


async def test_open_broker_defaults_to_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDA_BROKER", raising=False)
    assert isinstance(await open_broker(), InMemoryBroker)
    monkeypatch.setenv("EDA_BROKER", "carrier-pigeon")
    with pytest.raises(ValueError, match="'memory' or 'kafka'"):
        await open_broker()


@pytest.mark.kafka
async def test_open_broker_uses_kafka_bootstrap(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    broker = await open_broker("kafka")
    try:
        assert isinstance(broker, KafkaBroker) and broker.bootstrap == kafka_bootstrap
    finally:
        await broker.close()


@pytest.mark.kafka
async def test_fresh_topics_start_empty_with_no_committed_offsets(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eda_lib import Consumer, PaymentSuccessful, Producer

    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    topic = f"lesson-{uuid.uuid4().hex[:8]}"
    seen: list[list[str]] = []
    for run in range(2):  # the same lesson, run twice against one broker
        broker = await open_broker("kafka", fresh=[topic])
        try:
            await broker.create_topic(topic, partitions=2)  # a leftover would keep old records
            producer = Producer(broker, "payment-service")
            for n in range(3):
                payment = PaymentSuccessful(
                    payment_id=f"run{run}-{n}", order_id=f"o{n}", amount=100, currency="usd"
                )
                await producer.send(topic, payment)
            got: list[str] = []
            ship = got.append
            async with Consumer(
                broker, "shipping", topic, lambda e, ship=ship: ship(e.payment_id)
            ) as c:
                await c.run(max_events=3, timeout=20)
            seen.append(sorted(got))
        finally:
            await broker.close()
    assert seen == [[f"run{r}-{n}" for n in range(3)] for r in range(2)]


@pytest.mark.kafka
def test_a_taken_port_is_named(kafka_bootstrap: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        taken = rf"port {port} on 127.0.0.1 \(node 1\) is already taken"
        with pytest.raises(KafkaSetupError, match=taken):
            LocalKafka(port=port).start()


@pytest.mark.kafka
def test_jars_that_cannot_be_fetched_show_what_maven_said(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path))
    with pytest.raises(
        KafkaSetupError,
        match=r"(?s)Maven could not fetch Apache Kafka 0\.0\.1.*"
        r"Maven said:\n.+",
    ):
        fetch_jars("0.0.1")
    assert not (tmp_path / "eda-notebooks" / "kafka" / "0.0.1" / "libs").exists()


@pytest.mark.kafka
def test_the_cli_starts_once_reports_and_stops(
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    libs = fetch_jars()  # reuse the jars already fetched, in a cache of this test's own
    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path))
    own = tmp_path / "eda-notebooks" / "kafka" / libs.parent.name
    own.mkdir(parents=True)
    (own / "libs").symlink_to(libs)
    assert cli.main(["status"]) == 1
    capsys.readouterr()
    try:
        assert cli.main(["start", "--port", "0"]) == 0
        bootstrap = capsys.readouterr().out.strip()
        assert bootstrap.startswith("127.0.0.1:")
        assert cli.main(["start", "--port", "0"]) == 0  # a second start finds the first
        second = capsys.readouterr()
        assert second.out.strip() == bootstrap and "not starting another" in second.err
        assert cli.main(["status"]) == 0
        assert bootstrap in capsys.readouterr().out
        broker = asyncio.run(KafkaBroker.connect(bootstrap))
        asyncio.run(broker.close())
    finally:
        assert cli.main(["stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert cli.main(["status"]) == 1


async def test_an_unreachable_cluster_falls_back_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.delenv("EDA_REQUIRE_KAFKA", raising=False)
    broker = await asyncio.wait_for(open_broker("kafka"), 60)
    assert isinstance(broker, InMemoryBroker)
    said = capsys.readouterr().out
    assert "cannot reach Kafka at 127.0.0.1:1" in said and "using InMemoryBroker" in said


def test_nodes_of_a_notebook_that_died_are_swept_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json
    import subprocess

    from eda_lib.kafka_local import cluster

    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    bystander = subprocess.Popen(["sleep", "30"])  # not a Kafka node: must be left alone
    orphan = subprocess.Popen(["sleep", "30"])
    try:
        owners = cluster._owners_dir()
        dead, alive = tmp_path / "dead-kernel", tmp_path / "live-kernel"
        for data_dir, pids in ((dead, [orphan.pid, bystander.pid]), (alive, [bystander.pid])):
            data_dir.mkdir()
            nodes = [{"id": i, "pid": pid} for i, pid in enumerate(pids, 1)]
            (data_dir / "cluster.json").write_text(json.dumps({"nodes": nodes}))
        (owners / "999999999.json").write_text(json.dumps({"data_dir": str(dead)}))
        (owners / f"{os.getpid()}.json").write_text(json.dumps({"data_dir": str(alive)}))
        monkeypatch.setattr(cluster, "_is_kafka", lambda pid: pid == orphan.pid)
        assert cluster.sweep_orphans() == [orphan.pid]
        assert orphan.wait(5) == -9 and bystander.poll() is None
        assert not dead.exists() and alive.exists()
        assert sorted(p.name for p in owners.iterdir()) == [f"{os.getpid()}.json"]
    finally:
        bystander.kill()
        orphan.kill()


def test_the_watchdog_sweeps_once_its_kernel_is_gone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json
    import subprocess

    from eda_lib.kafka_local import cluster, watchdog

    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    kernel = subprocess.Popen(["sleep", "0.3"])
    (cluster._owners_dir() / f"{kernel.pid}.json").write_text(
        json.dumps({"data_dir": str(tmp_path / "gone")})
    )
    kernel.wait()  # reaped: a child of ours would otherwise linger as a zombie, still "alive"
    watchdog.main(kernel.pid, every=0.1)  # returns once the "kernel" is gone, and sweeps
    assert list(cluster._owners_dir().iterdir()) == []
