"""Each partition's leader epoch, as Kafka reports it (lesson 16).

The controller numbers a partition's leaderships: every time it names a leader, the partition's
**leader epoch** goes up by one. A Metadata request from version 7 on carries that number
(`leader_epoch`, the column `kafka-topics.sh --describe` does not print); aiokafka asks only up
to version 5, so version 7 is declared here in aiokafka's own protocol types, as
`eda_lib.kafka_local.quorum` does for DescribeQuorum. librdkafka 2.1 and later asks for it too
(KIP-320), to tell fresh metadata from stale and to send the epoch with its fetches; the course's
confluent-kafka-go v1.9.2 (librdkafka 1.9.2) does not expose it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int16, Int32, Schema, String


class _MetadataV7Response(Response):  # type: ignore[misc]
    API_KEY = 3
    API_VERSION = 7
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            Array(
                ("node_id", Int32),
                ("host", String("utf-8")),
                ("port", Int32),
                ("rack", String("utf-8")),
            ),
        ),
        ("cluster_id", String("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            Array(
                ("error_code", Int16),
                ("name", String("utf-8")),
                ("is_internal", Boolean),
                (
                    "partitions",
                    Array(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", Array(Int32)),
                        ("isr_nodes", Array(Int32)),
                        ("offline_replicas", Array(Int32)),
                    ),
                ),
            ),
        ),
    )


class _MetadataV7Struct(RequestStruct):  # type: ignore[misc]
    API_KEY = 3
    API_VERSION = 7
    RESPONSE_TYPE = _MetadataV7Response
    SCHEMA = Schema(("topics", Array(String("utf-8"))), ("allow_auto_topic_creation", Boolean))


class _MetadataV7(Request[_MetadataV7Struct]):  # type: ignore[misc]
    API_KEY = 3

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics

    def build(self, request_struct_class: type[_MetadataV7Struct]) -> _MetadataV7Struct:
        return request_struct_class(self._topics, False)


@dataclass(frozen=True)
class PartitionEpoch:
    """One partition as the node asked sees it: its leader (None while it has none), the leader
    epoch, and the replicas in sync."""

    partition: int
    leader: int | None
    epoch: int
    isr: tuple[int, ...]


class EpochsUnknown(RuntimeError):
    """No node that was asked answered for the topic."""


async def ask_epochs(
    client: AIOKafkaClient, topic: str, *, avoid: Collection[int] = ()
) -> list[PartitionEpoch]:
    """`topic`'s partitions, asked of each node the client knows but those in `avoid` (a paused
    node keeps its connections open and never answers: asking it would hang until the
    client's request timeout), until one answers."""
    last: Exception | None = None
    for broker in sorted(client.cluster.brokers(), key=lambda b: b.nodeId):
        if broker.nodeId in avoid:
            continue
        try:
            response = await client.send(broker.nodeId, _MetadataV7([topic]))
        except Exception as error:  # a dead or unready node: the next one may answer
            last = error
            continue
        return _partitions(response.to_object(), topic)
    raise EpochsUnknown(f"no node answered for '{topic}' ({type(last).__name__})")


def _partitions(answer: dict[str, Any], topic: str) -> list[PartitionEpoch]:
    [found] = [t for t in answer["topics"] if t["name"] == topic]
    if found["error_code"]:
        raise EpochsUnknown(
            f"Kafka could not describe '{topic}' (error {found['error_code']}). Fix: check the "
            "name with broker.topics()"
        )
    return sorted(
        (
            PartitionEpoch(
                partition=p["partition_index"],
                leader=p["leader_id"] if p["leader_id"] >= 0 else None,
                epoch=p["leader_epoch"],
                isr=tuple(p["isr_nodes"]),
            )
            for p in found["partitions"]
        ),
        key=lambda p: p.partition,
    )


async def describe_epochs(
    bootstrap: str, topic: str, *, avoid: Collection[int] = (), timeout_ms: int = 3000
) -> list[PartitionEpoch]:
    """`topic`'s partitions with their leader epochs, from a client of its own."""
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # a paused or killed node does not answer: expected
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await client.bootstrap()
        return await ask_epochs(client, topic, avoid=avoid)
    finally:
        await client.close()
        aiokafka_log.setLevel(level)
