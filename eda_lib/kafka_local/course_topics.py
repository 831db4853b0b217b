"""The course's topics, created up front on the broker `make kafka` starts, so that the course's own
Go programs run against it unchanged.

The course's docker-compose broker creates a topic, with one partition, the first time a program
names it, and the programs rely on that. Our broker keeps auto-creation off (see
`LocalKafka.server_properties`), so `python -m eda_lib.kafka_local start` creates them instead,
once the broker answers, and leaves alone any that exist already.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # what confluent_kafka.admin re-exports, typed

from eda_lib.kafka_local.tools import KafkaSetupError

COURSE_TOPICS: tuple[str, ...] = (
    "bedaig-topic",
    "order-events",
    "orders",
    "payment-update",
    "example-topic",
    "test-topic",
)
"""The topics the course's Go programs use, in the course's order:

* `bedaig-topic`: chapter 3's publisher and subscriber (5.2's producer writes to it too);
* `order-events`: 4.1, event sourcing;
* `orders`: 4.2, CQRS;
* `payment-update`: 5.1, publish/subscribe;
* `example-topic`: 5.2's consumer;
* `test-topic`: 6.2's integration test, which creates it itself (an existing one is fine) and
  deletes it at the end; the next `make kafka` makes it again.

Each gets one partition and one replica, as auto-creation gave them in the course."""

PARTITIONS = 1
REPLICATION_FACTOR = 1


def missing(existing: Iterable[str], wanted: Iterable[str] = COURSE_TOPICS) -> list[str]:
    """The topics of `wanted` that `existing` lacks, in `wanted`'s order."""
    there = set(existing)
    return [topic for topic in wanted if topic not in there]


def announce(created: list[str], wanted: Iterable[str] = COURSE_TOPICS) -> str:
    """One line saying which of the course's topics were created and which were already there."""
    kept = missing(created, wanted)
    if not created:
        return f"the course's topics were already there: {', '.join(kept)}"
    line = f"created the course's topics (1 partition each): {', '.join(created)}"
    return line + (f"; already there: {', '.join(kept)}" if kept else "")


def create_course_topics(
    bootstrap: str, topics: Iterable[str] = COURSE_TOPICS, timeout: float = 30.0
) -> list[str]:
    """Create whichever of `topics` the cluster at `bootstrap` lacks (1 partition, 1 replica) and
    wait until each has a leader; returns the ones created, [] when all were there already."""
    wanted = list(topics)
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})
    todo = missing(_leaders(admin, timeout), wanted)
    if not todo:
        return []
    requests = [NewTopic(topic, PARTITIONS, REPLICATION_FACTOR) for topic in todo]
    created = []
    for topic, future in admin.create_topics(requests, operation_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as error:
            if error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # made meanwhile, by another start or a program
            raise KafkaSetupError(
                f"creating the course's topic '{topic}' on {bootstrap} failed: {error}"
            ) from None
        created.append(topic)
    deadline = time.monotonic() + timeout
    while missing(_leaders(admin, timeout), todo):  # a new partition gets its leader a moment later
        if time.monotonic() > deadline:
            raise KafkaSetupError(f"the course's topics on {bootstrap} got no leader in time")
        time.sleep(0.1)
    return created


def _leaders(admin: AdminClient, timeout: float) -> list[str]:
    """The topics whose every partition has a leader."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as error:
        raise KafkaSetupError(f"could not list the broker's topics: {error}") from None
    return [
        name
        for name, topic in metadata.topics.items()
        if topic.error is None and all(p.leader >= 0 for p in topic.partitions.values())
    ]
