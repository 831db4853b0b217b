"""`make kafka` creates the course's topics, one partition each, once: a second start, or a start
after a restart of the broker, finds them there and creates nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import LocalKafka
from eda_lib.kafka_local import __main__ as cli
from eda_lib.kafka_local.broker import STATE_FILE
from eda_lib.kafka_local.course_topics import COURSE_TOPICS, create_course_topics

pytestmark = pytest.mark.kafka


def _topics(bootstrap: str) -> dict[str, int]:
    async def look() -> dict[str, int]:
        broker = await KafkaBroker.connect(bootstrap)
        try:
            return await broker.topics()
        finally:
            await broker.close()

    return asyncio.run(look())


def _as_if_make_kafka_started(broker: LocalKafka, cache: Path) -> None:
    """Record `broker` where `make kafka` records the broker it left running, in a cache of the
    test's own: the command line's `start` then finds it there rather than starting another."""
    assert broker.process is not None
    run = cache / "eda-notebooks" / "kafka" / "run"
    run.mkdir(parents=True)
    state = {"pid": broker.process.pid, "bootstrap": broker.bootstrap, "version": broker.version}
    (run / STATE_FILE).write_text(json.dumps(state | {"log": str(broker.log_file)}))


def test_start_creates_the_course_topics_once(
    local_kafka: LocalKafka,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDA_CACHE_DIR", str(tmp_path))
    _as_if_make_kafka_started(local_kafka, tmp_path)
    assert cli.main(["start"]) == 0
    first = capsys.readouterr()
    assert first.out.strip() == local_kafka.bootstrap
    assert f"created the course's topics (1 partition each): {', '.join(COURSE_TOPICS)}" in (
        first.err
    )
    topics = _topics(local_kafka.bootstrap)
    assert {topic: topics.get(topic) for topic in COURSE_TOPICS} == dict.fromkeys(COURSE_TOPICS, 1)

    assert cli.main(["start"]) == 0  # again: nothing to create
    again = capsys.readouterr()
    assert "the course's topics were already there" in again.err and "created" not in again.err
    assert _topics(local_kafka.bootstrap) == topics


def test_the_course_topics_survive_a_restart_and_are_not_created_again(
    local_kafka: LocalKafka,
) -> None:
    assert create_course_topics(local_kafka.bootstrap) == list(COURSE_TOPICS)
    local_kafka.kill()
    local_kafka.start()  # the same ports and data directory
    assert create_course_topics(local_kafka.bootstrap) == []
    topics = _topics(local_kafka.bootstrap)
    assert {topic: topics.get(topic) for topic in COURSE_TOPICS} == dict.fromkeys(COURSE_TOPICS, 1)
