"""Setting up a local Kafka broker without one: clear errors when Java or Maven is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from eda_lib.kafka_local import KafkaSetupError, LocalKafka
from eda_lib.kafka_local.tools import fetch_jars


def test_no_java_says_install_a_jdk(empty_path: None) -> None:
    with pytest.raises(KafkaSetupError, match=r"`java` is not on PATH: install a JDK 17"):
        LocalKafka().start()


def test_no_maven_says_install_it_or_use_kafka_bootstrap(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(KafkaSetupError, match=r"`mvn` is not on PATH.*KAFKA_BOOTSTRAP"):
        fetch_jars("4.4.0")
