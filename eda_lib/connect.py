"""Choosing a broker for a lesson: the in-memory one, or real Kafka (lesson 08)."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
from collections.abc import Sequence
from typing import Literal

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, Broker, BrokerError
from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import Clock
from eda_lib.kafka import KafkaBroker, KafkaSecurity
from eda_lib.kafka_local import KafkaSetupError, LocalKafka, bootstrap_from_env

BrokerKind = Literal["memory", "kafka"]
_local: LocalKafka | None = None  # one local broker per process, however often a cell re-runs


async def _local_bootstrap() -> tuple[str, str]:
    global _local
    if _local is None or _local.process is None or _local.process.poll() is not None:
        local = LocalKafka()
        await asyncio.to_thread(local.start)
        atexit.register(local.stop)
        _local = local
        return (
            local.bootstrap,
            f"Kafka {local.version}, started for this notebook in {local.started_in:.1f} s",
        )
    return _local.bootstrap, f"Kafka {_local.version}, started earlier in this notebook"


def quiet_kafka_logs(level: int = logging.CRITICAL) -> None:
    """Keep aiokafka's own log (refused connections it retries, coordinator moves) out of a
    lesson's output. What does fail still reaches the caller as an exception."""
    logging.getLogger("aiokafka").setLevel(level)


async def open_broker(
    kind: BrokerKind | None = None,
    *,
    seed: int = 0,
    fresh: Sequence[str] = (),
    clock: Clock | None = None,
) -> Broker:
    """The broker to run a lesson on: `kind`, else the `EDA_BROKER` environment variable, else
    "memory".

    `fresh` names the topics the lesson owns. An in-memory broker starts empty anyway; on Kafka,
    each of them (and its dead-letter topic) that an earlier run or another lesson left behind is
    deleted, with the offsets groups committed on it, so the lesson starts as on a new broker.
    `clock` is the in-memory broker's (a `VirtualClock` makes waits free); Kafka keeps real time.

    For "kafka": the cluster named by `KAFKA_BOOTSTRAP` if set (secured as the
    `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_...` and `KAFKA_SSL_...` variables say: see
    `KafkaSecurity`), else a local broker started for this process (once, and stopped when it
    exits). If no Kafka can be had, or the one named cannot be connected to, it says why in one
    line and returns an `InMemoryBroker`; with `EDA_REQUIRE_KAFKA=1` it raises instead.
    """
    chosen = kind or os.environ.get("EDA_BROKER") or "memory"
    if chosen == "memory":
        return InMemoryBroker(seed=seed, clock=clock)
    if chosen != "kafka":
        raise ValueError(f"unknown broker kind {chosen!r}: use 'memory' or 'kafka'")

    try:
        bootstrap = bootstrap_from_env()
        origin = "from KAFKA_BOOTSTRAP"
        security = None  # the KAFKA_SECURITY_... variables, which describe that cluster
        if bootstrap is None:
            bootstrap, origin = await _local_bootstrap()
            security = KafkaSecurity()  # the local broker speaks PLAINTEXT, whatever they say
        broker = await KafkaBroker.connect(bootstrap, seed=seed, security=security)
    except (KafkaSetupError, BrokerError) as error:
        if os.environ.get("EDA_REQUIRE_KAFKA") == "1":
            raise
        reason = str(error).splitlines()[0]
        print(f"Kafka is not available here ({reason}); using InMemoryBroker instead.")
        return InMemoryBroker(seed=seed)
    if broker.security.protocol != "PLAINTEXT":
        origin += f"; {broker.security.describe()}"
    print(f"Using Kafka at {bootstrap} ({origin}).")
    await _clear(broker, fresh)
    return broker


async def _clear(broker: Broker, topics: Sequence[str]) -> None:
    existing = set(await broker.topics())
    for topic in topics:
        for name in (topic, f"{topic}{DEAD_LETTER_SUFFIX}"):
            if name in existing:
                await broker.delete_topic(name)
