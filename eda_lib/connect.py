"""Choosing a broker for a lesson: the in-memory one, or real Kafka (lesson 08)."""

from __future__ import annotations

import asyncio
import atexit
import os
from typing import Literal

from eda_lib.brokers.base import Broker
from eda_lib.brokers.memory import InMemoryBroker

BrokerKind = Literal["memory", "kafka"]


async def open_broker(kind: BrokerKind | None = None, *, seed: int = 0) -> Broker:
    """The broker to run a lesson on: `kind`, else the `EDA_BROKER` environment variable, else
    "memory".

    For "kafka": the cluster named by `KAFKA_BOOTSTRAP` if set, else a local broker started for
    this process (and stopped when it exits). If no Kafka can be had, it says why in one line
    and returns an `InMemoryBroker`, unless `EDA_REQUIRE_KAFKA=1`, when it raises.
    """
    chosen = kind or os.environ.get("EDA_BROKER") or "memory"
    if chosen == "memory":
        return InMemoryBroker(seed=seed)
    if chosen != "kafka":
        raise ValueError(f"unknown broker kind {chosen!r}: use 'memory' or 'kafka'")

    from eda_lib.brokers.kafka import KafkaBroker
    from eda_lib.kafka_local import KafkaSetupError, LocalKafka, bootstrap_from_env

    bootstrap = bootstrap_from_env()
    origin = "from KAFKA_BOOTSTRAP"
    if bootstrap is None:
        local = LocalKafka()
        try:
            await asyncio.to_thread(local.start)
        except KafkaSetupError as error:
            if os.environ.get("EDA_REQUIRE_KAFKA") == "1":
                raise
            reason = str(error).splitlines()[0]
            print(f"Kafka is not available here ({reason}); using InMemoryBroker instead.")
            return InMemoryBroker(seed=seed)
        atexit.register(local.stop)
        bootstrap = local.bootstrap
        origin = f"Kafka {local.version}, started for this notebook in {local.started_in:.1f} s"
    broker = await KafkaBroker.connect(bootstrap, seed=seed)
    print(f"Using Kafka at {bootstrap} ({origin}).")
    return broker
