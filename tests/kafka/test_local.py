"""A local Kafka broker: lessons use the one KAFKA_BOOTSTRAP names, a taken port or missing jars
are named, and one broker, not two, when an earlier one is still running."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest

from eda_lib import open_broker
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import KafkaSetupError, LocalKafka
from eda_lib.kafka_local import __main__ as cli
from eda_lib.kafka_local.tools import fetch_jars


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
                broker, "shipping", topic, lambda e, ship=ship: ship(e.payment_id), start="earliest"
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
