"""Which node is the active controller: Kafka's DescribeQuorum request (API key 55), the one
`kafka-metadata-quorum.sh describe --status` sends. aiokafka has no call for it, so its wire
format is declared here in aiokafka's own protocol types; any broker forwards it to the quorum.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

from eda_lib.kafka_local.tools import _run_in_thread

METADATA_TOPIC = "__cluster_metadata"  # KRaft's own log, replicated by the controllers
_REPLICA = (("replica_id", Int32), ("log_end_offset", Int64), ("tags", TaggedFields))


class _DescribeQuorumResponse(Response):  # type: ignore[misc]
    API_KEY = 55
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        (
            "topics",
            CompactArray(
                ("topic_name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("error_code", Int16),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("high_watermark", Int64),
                        ("current_voters", CompactArray(*_REPLICA)),
                        ("observers", CompactArray(*_REPLICA)),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _DescribeQuorumStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 55
    API_VERSION = 0
    RESPONSE_TYPE = _DescribeQuorumResponse
    SCHEMA = Schema(
        (
            "topics",
            CompactArray(
                ("topic_name", CompactString("utf-8")),
                ("partitions", CompactArray(("partition_index", Int32), ("tags", TaggedFields))),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _DescribeQuorum(Request[_DescribeQuorumStruct]):  # type: ignore[misc]
    API_KEY = 55

    def build(self, request_struct_class: type[_DescribeQuorumStruct]) -> _DescribeQuorumStruct:
        return request_struct_class([(METADATA_TOPIC, [(0, {})], {})], {})


@dataclass(frozen=True)
class Quorum:
    """The controller quorum as its leader sees it: who leads (the active controller), in which
    epoch (one more per election), and how far each voter's copy of the metadata log reaches."""

    leader: int
    epoch: int
    high_watermark: int
    voters: dict[int, int]


class QuorumUnknown(RuntimeError):
    """No node could say who leads the controller quorum (most voters down, or an election)."""


async def _ask_each(client: Any) -> Any:
    """DescribeQuorum, asked of each broker the metadata lists until one answers: the metadata
    may still list a node that was just killed."""
    last: Exception | None = None
    for broker in sorted(client.cluster.brokers(), key=lambda b: b.nodeId):
        try:
            return await client.send(broker.nodeId, _DescribeQuorum())
        except Exception as error:  # a dead or unready node: the next one may answer
            last = error
    raise QuorumUnknown(f"no node answered DescribeQuorum ({type(last).__name__})")


async def describe_quorum_async(bootstrap: str, timeout_ms: int = 5000) -> Quorum:
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # a killed node refuses connections: expected
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await client.bootstrap()
        response = await _ask_each(client)
    finally:
        await client.close()
        aiokafka_log.setLevel(level)
    answer = response.to_object()
    if answer["error_code"] or not answer["topics"]:
        raise QuorumUnknown(f"DescribeQuorum was refused (error {answer['error_code']})")
    [topic] = answer["topics"]
    [partition] = topic["partitions"]
    if partition["error_code"]:
        raise QuorumUnknown(f"the quorum could not be described (error {partition['error_code']})")
    return Quorum(
        leader=int(partition["leader_id"]),
        epoch=int(partition["leader_epoch"]),
        high_watermark=int(partition["high_watermark"]),
        voters={v["replica_id"]: v["log_end_offset"] for v in partition["current_voters"]},
    )


def describe_quorum(bootstrap: str) -> Quorum:
    """The quorum, asked through any broker at `bootstrap` (callable inside a notebook's loop)."""
    quorum: Quorum = _run_in_thread(describe_quorum_async(bootstrap))
    return quorum


async def active_controller(bootstrap: str, timeout_ms: int = 2000) -> int | None:
    """The active controller's node id, or None when no node answers for a quorum leader."""
    try:
        quorum = await asyncio.wait_for(
            describe_quorum_async(bootstrap, timeout_ms), timeout_ms / 1000 + 2
        )
    except Exception:  # no node answers, or the one asked knows no leader: there is none to name
        return None
    return quorum.leader if quorum.leader >= 0 else None


async def wait_until_no_controller(bootstrap: str, timeout: float = 20.0) -> float:
    """Until no node answers as active controller (after most voters died, the last leader
    steps down once it notices no majority is in touch); returns the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while await active_controller(bootstrap) is not None:
        if loop.time() - began > timeout:
            raise TimeoutError(f"a controller still answered after {timeout:.0f} s")
        await asyncio.sleep(0.5)
    return loop.time() - began
