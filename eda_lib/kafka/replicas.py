"""Where each partition's copies live on a Kafka cluster (lesson 16): its leader, its replicas and
its in-sync replicas (ISR), as `kafka-topics.sh --describe` prints them; a topic created with its
replicas placed by hand; and a topic's configuration changed while it is in use.

Every call goes through the cluster's admin client and tries again when the node it asked was just
killed: on a cluster, some node is always allowed to be down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from eda_lib.brokers.base import BrokerError, check_new_topic
from eda_lib.kafka.broker import KafkaBroker
from eda_lib.kafka.topics import steadily
from eda_lib.resilience import settle

_TOPIC_EXISTS = 36  # Kafka's TOPIC_ALREADY_EXISTS error code
_UNKNOWN_TOPIC = 3  # UNKNOWN_TOPIC_OR_PARTITION


@dataclass(frozen=True)
class PartitionReplicas:
    """One partition's copies. `leader` is None while no replica can lead (all of its in-sync
    replicas are down): the partition then takes no writes and serves no reads."""

    topic: str
    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def under_replicated(self) -> bool:
        """Fewer copies in sync than there are replicas: a node is down or behind."""
        return len(self.isr) < len(self.replicas)

    @property
    def followers(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r != self.leader)


async def replicas(broker: KafkaBroker, topics: Collection[str]) -> list[PartitionReplicas]:
    """Each partition of `topics`, in order: its leader, replicas and in-sync replicas."""
    admin = await broker.admin()
    for _ in range(40):  # a node may not have heard of a topic created a moment ago
        described: list[Any] = await steadily(
            lambda: admin.describe_topics(sorted(topics)), "describing topics"
        )
        if all(t["error_code"] != _UNKNOWN_TOPIC for t in described):
            break
        await asyncio.sleep(0.25)
    found = []
    for topic in described:
        if topic["error_code"]:
            raise BrokerError(
                f"Kafka could not describe topic '{topic['topic']}' (error {topic['error_code']})"
                ". Fix: check the name with broker.topics()"
            )
        for p in topic["partitions"]:
            found.append(
                PartitionReplicas(
                    topic=topic["topic"],
                    partition=p["partition"],
                    leader=p["leader"] if p["leader"] >= 0 else None,
                    replicas=tuple(p["replicas"]),
                    isr=tuple(p["isr"]),
                )
            )
    return sorted(found, key=lambda p: (p.topic, p.partition))


def replicas_table(partitions: Sequence[PartitionReplicas]) -> str:
    """As `kafka-topics.sh --describe` shows it: one line per partition."""
    rows = [("topic", "partition", "leader node", "replica nodes", "in-sync nodes")]
    for p in partitions:
        rows.append(
            (
                p.topic,
                str(p.partition),
                "none" if p.leader is None else str(p.leader),
                ",".join(map(str, p.replicas)),
                ",".join(map(str, p.isr)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


async def create_placed_topic(
    broker: KafkaBroker,
    topic: str,
    placement: Mapping[int, Sequence[int]],
    configs: Mapping[str, str] | None = None,
) -> list[PartitionReplicas]:
    """A topic whose partition `p` has its copies on the nodes `placement[p]`, the first being
    its preferred leader (`kafka-topics.sh --create --replica-assignment`). Kafka would spread
    them itself, from a random start; placing them by hand makes a lesson's leaders the same on
    every run."""
    check_new_topic(topic, len(placement))
    if sorted(placement) != list(range(len(placement))):
        raise BrokerError(
            f"placement must name partitions 0..{len(placement) - 1}, not {sorted(placement)}"
        )
    admin = await broker.admin()
    new = NewTopic(
        topic,
        -1,
        -1,
        replica_assignments={p: list(nodes) for p, nodes in placement.items()},
        topic_configs=dict(configs or {}),
    )
    response: Any = await steadily(lambda: admin.create_topics([new]), "creating a topic")
    for _, code, *rest in response.topic_errors:
        if code == _TOPIC_EXISTS:  # a cell run again: the same topic is fine, another is not
            found = await replicas(broker, [topic])
            if {p.partition: p.replicas for p in found} != {
                p: tuple(nodes) for p, nodes in placement.items()
            }:
                raise BrokerError(
                    f"topic '{topic}' exists with other replicas:\n{replicas_table(found)}\nFix: "
                    "delete it first (broker.delete_topic), or choose another name"
                )
        elif code:
            raise BrokerError(f"Kafka refused to create topic '{topic}': error {code} {rest}")
    await broker.topics()  # the broker learns the new topic's partition count
    return await wait_for(broker, [topic], lambda ps: all(p.leader is not None for p in ps))


async def wait_for(
    broker: KafkaBroker,
    topics: Collection[str],
    condition: Callable[[list[PartitionReplicas]], bool],
    timeout: float = 30.0,
) -> list[PartitionReplicas]:
    """Ask until the partitions of `topics` meet `condition` (a leader moved, the ISR grew back);
    a `BrokerError` with the last answer if they do not within `timeout` seconds."""
    found: list[PartitionReplicas] = []

    async def met() -> bool:
        nonlocal found
        found = await replicas(broker, topics)
        return bool(found) and condition(found)

    if not await settle(met, timeout=timeout, every=0.2):
        raise BrokerError(
            f"the partitions did not get there within {timeout:.0f} s; last seen:\n"
            + replicas_table(found)
        )
    return found


async def set_topic_config(broker: KafkaBroker, topic: str, configs: Mapping[str, str]) -> None:
    """Change a topic's configuration while it is in use (`kafka-configs.sh --alter`). This is
    the whole set of the topic's own settings: one not named goes back to the cluster default."""
    admin = await broker.admin()
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict(configs))
    responses: list[Any] = await steadily(
        lambda: admin.alter_configs([resource]), "changing a topic's configuration"
    )
    for response in responses:
        for code, message, *_ in response.resources:
            if code:
                raise BrokerError(f"Kafka refused the configuration {dict(configs)}: {message}")


async def topic_config(broker: KafkaBroker, topic: str, names: Collection[str]) -> dict[str, str]:
    """The values a topic has for the settings `names` (its own, else the cluster's default), as
    `kafka-configs.sh --describe --all` shows them."""
    admin = await broker.admin()
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict.fromkeys(names))
    for _ in range(40):
        responses: list[Any] = await steadily(
            lambda: admin.describe_configs([resource]), "reading a topic's configuration"
        )
        found: dict[str, str] = {}
        unknown = ""
        for response in responses:
            for code, message, _, _, entries in response.resources:
                if code == _UNKNOWN_TOPIC:  # a new topic the node asked has not heard of yet
                    unknown = message or "unknown topic"
                elif code:
                    raise BrokerError(f"Kafka would not describe topic '{topic}': {message}")
                found |= {entry[0]: entry[1] for entry in entries}
        if not unknown:
            return found
        await asyncio.sleep(0.25)
    raise BrokerError(f"Kafka would not describe topic '{topic}': {unknown}")
