"""Connecting to Kafka, without a broker: a host that never answers fails within the connect
timeout, in one line."""

from __future__ import annotations

import asyncio
import time

import pytest

from eda_lib.kafka import KafkaBroker, KafkaConnectError, KafkaSecurity
from eda_lib.kafka import topics as kafka_topics


async def test_a_silent_host_fails_within_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def accept_and_say_nothing(reader: asyncio.StreamReader, _: object) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(kafka_topics, "CONNECT_WITHIN_S", 1.0)
    began = time.monotonic()
    try:
        with pytest.raises(
            KafkaConnectError,
            match=rf"Kafka at 127\.0\.0\.1:{port} did not answer within 1 s\. Fix: check the "
            "host and port in KAFKA_BOOTSTRAP",
        ):
            await KafkaBroker.connect(f"127.0.0.1:{port}", security=KafkaSecurity())
    finally:
        server.close()
    assert time.monotonic() - began < 3
