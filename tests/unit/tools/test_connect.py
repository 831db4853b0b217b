"""Choosing a lesson's broker without Kafka: the in-memory one by default, and a fallback to it
that says why."""

from __future__ import annotations

import asyncio

import pytest

from eda_lib import InMemoryBroker, open_broker
from eda_lib.kafka_local import KafkaSetupError


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


async def test_an_unreachable_cluster_falls_back_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.delenv("EDA_REQUIRE_KAFKA", raising=False)
    broker = await asyncio.wait_for(open_broker("kafka"), 60)
    assert isinstance(broker, InMemoryBroker)
    said = capsys.readouterr().out
    assert "cannot reach Kafka at 127.0.0.1:1" in said and "using InMemoryBroker" in said
