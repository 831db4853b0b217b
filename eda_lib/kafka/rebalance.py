"""Rebalancing as the course's client does it (lesson 08): librdkafka, through `confluent_kafka`.

Each function runs a small group of librdkafka consumers on a real broker and records what their
rebalance callbacks (`on_assign`, `on_revoke`; Go: a `RebalanceCb`) were told:

- `join_third`: two members share a topic, a third joins. With
  `partition.assignment.strategy=range` (eager) every member gives up all its partitions; with
  `cooperative-sticky` only the ones that move (the callbacks get the increments, and Python's
  client calls `incremental_assign` / `incremental_unassign` for us after them).
- `restart_member`: a member closes and comes back at once, with or without `group.instance.id`
  (static membership): what the other member's callbacks saw meanwhile.
- `handover`: a member hands a partition it has read to a newcomer, committing in `on_revoke` or
  not: what the newcomer reads again.
- `stall`: a member stops polling for longer than `max.poll.interval.ms`.

All members are polled from one thread in turn, so the record is in the order the callbacks ran,
and every wait is bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from eda_lib.kafka.librdkafka import settings


@dataclass(frozen=True)
class Callback:
    """One call of a member's rebalance callback."""

    member: str
    kind: str
    """"revoke" or "assign"."""
    partitions: tuple[int, ...]


@dataclass
class Group:
    """Members of one group, polled in turn, with what their callbacks were told."""

    bootstrap: str
    group: str
    topic: str
    calls: list[Callback] = field(default_factory=list)
    owned: dict[str, set[int]] = field(default_factory=dict)
    members: dict[str, Consumer] = field(default_factory=dict)
    before_revoke: Callable[[Consumer, list[TopicPartition]], None] | None = None
    """Called by every member's `on_revoke` with the partitions it gives up (to commit them)."""

    def join(self, name: str, **extra: Any) -> Consumer:
        """Start member `name` (its `client.id` too: member ids start with it, and `range`
        gives the lower partitions to the lower member id) with the librdkafka keys `extra`."""
        self.owned[name] = set()

        def on_assign(_: Consumer, partitions: list[TopicPartition]) -> None:
            got = tuple(sorted(tp.partition for tp in partitions))
            self.calls.append(Callback(name, "assign", got))
            self.owned[name] |= set(got)

        def on_revoke(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            lost = tuple(sorted(tp.partition for tp in partitions))
            self.calls.append(Callback(name, "revoke", lost))
            self.owned[name] -= set(lost)
            if self.before_revoke:
                self.before_revoke(consumer, partitions)

        config = settings(
            self.bootstrap,
            **{"group.id": self.group, "client.id": name, "enable.auto.commit": False, **extra},
        )
        consumer = Consumer(config)
        consumer.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        self.members[name] = consumer
        return consumer

    def poll_until(self, done: Callable[[], bool], seconds: float, *, skip: str = "") -> None:
        """Poll every member (but `skip`) in turn until `done()` has held for a second."""
        deadline = time.monotonic() + seconds
        since: float | None = None
        while time.monotonic() < deadline:
            for name, consumer in self.members.items():
                if name != skip:
                    consumer.poll(0.05)
            if not done():
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since > 1.0:
                return
        raise RuntimeError(f"group '{self.group}' did not settle in {seconds} s: {self.owned}")

    def even(self, partitions: int) -> Callable[[], bool]:
        """A test for `poll_until`: every member owns its even share of `partitions`."""
        share = partitions // len(self.members)
        return lambda: all(len(self.owned[name]) == share for name in self.members)

    def revoked(self, member: str, since: int = 0) -> set[int]:
        """The partitions `member` was told to give up in `calls[since:]`."""
        return {
            p
            for c in self.calls[since:]
            if c.member == member and c.kind == "revoke"
            for p in c.partitions
        }

    def close(self) -> None:
        for consumer in self.members.values():
            consumer.close()


@dataclass(frozen=True)
class JoinRecord:
    """What the members had before a third joined, were told to give up, and ended with."""

    strategy: str
    before: dict[str, tuple[int, ...]]
    revoked: dict[str, tuple[int, ...]]
    after: dict[str, tuple[int, ...]]


def _sorted(owned: dict[str, set[int]]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(sorted(parts)) for name, parts in owned.items()}


def _join_third(
    bootstrap: str, topic: str, group: str, strategy: str, partitions: int
) -> JoinRecord:
    members = Group(bootstrap, group, topic)
    try:
        for name in ("a", "b"):
            members.join(name, **{"partition.assignment.strategy": strategy})
        members.poll_until(members.even(partitions), 30)
        before = _sorted(members.owned)
        start = len(members.calls)  # from here on: the rebalance the third member causes
        members.join("c", **{"partition.assignment.strategy": strategy})
        members.poll_until(members.even(partitions), 30)
        revoked = {name: tuple(sorted(members.revoked(name, start))) for name in before}
        return JoinRecord(strategy, before, revoked, _sorted(members.owned))
    finally:
        members.close()


async def join_third(
    bootstrap: str, topic: str, group: str, strategy: str, *, partitions: int = 6
) -> JoinRecord:
    """Two members of a new `group` share `topic` (of `partitions` partitions), then a third
    joins, all with `partition.assignment.strategy` = `strategy` ("range" or
    "cooperative-sticky")."""
    return await asyncio.to_thread(_join_third, bootstrap, topic, group, strategy, partitions)


STATIC_TIMEOUT_MS = 6000
"""`session.timeout.ms` for `restart_member` and `stall`: the broker's lowest by default
(`group.min.session.timeout.ms`), so that a leaving is noticed soon."""
RESTART_SECONDS = 3.0
"""How long `restart_member`'s member b is away: well inside `STATIC_TIMEOUT_MS`."""


def _restart_member(bootstrap: str, topic: str, group: str, static: bool) -> list[Callback]:
    members = Group(bootstrap, group, topic)
    keys: dict[str, Any] = {
        "partition.assignment.strategy": "range",
        "session.timeout.ms": STATIC_TIMEOUT_MS,
        "heartbeat.interval.ms": 500,  # a hears of a rebalance within half a second
    }

    def extra(name: str) -> dict[str, Any]:
        return {**keys, "group.instance.id": f"{group}-{name}"} if static else keys

    try:
        for name in ("a", "b"):
            members.join(name, **extra(name))
        members.poll_until(members.even(2), 30)
        start = len(members.calls)
        members.members.pop("b").close()  # a static member does not leave the group on close
        pause = time.monotonic() + RESTART_SECONDS
        while time.monotonic() < pause:  # b is restarting: a goes on polling
            members.members["a"].poll(0.05)
        members.join("b", **extra("b"))
        members.poll_until(members.even(2), 30)
        return [call for call in members.calls[start:] if call.member == "a"]
    finally:
        members.close()


async def restart_member(bootstrap: str, topic: str, group: str, *, static: bool) -> list[Callback]:
    """Members a and b of a new `group` share `topic` (2 partitions, eager `range`); b closes
    and a new b joins `RESTART_SECONDS` later, with `group.instance.id` (`static`) or without.
    Returns the calls of a's callbacks from b's close until the group is even again."""
    return await asyncio.to_thread(_restart_member, bootstrap, topic, group, static)


def _handover(bootstrap: str, topic: str, group: str, commit_on_revoke: bool) -> list[int]:
    producer = Producer(settings(bootstrap))
    for partition in (0, 1):
        for n in range(3):
            producer.produce(topic, f"{partition}-{n}".encode(), partition=partition)
    if producer.flush(10):
        raise RuntimeError(f"could not send to '{topic}'")
    members = Group(bootstrap, group, topic)
    handled: dict[int, int] = {}  # partition -> next offset a would read

    def commit_handled(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        done = [
            TopicPartition(topic, tp.partition, handled[tp.partition])
            for tp in partitions
            if tp.partition in handled
        ]
        if done:
            consumer.commit(offsets=done, asynchronous=False)

    if commit_on_revoke:
        members.before_revoke = commit_handled
    keys = {"partition.assignment.strategy": "range", "auto.offset.reset": "earliest"}
    try:
        a = members.join("a", **keys)
        deadline = time.monotonic() + 30
        while sum(handled.values()) < 6 and time.monotonic() < deadline:
            message = a.poll(0.1)  # a handles all 6, and commits nothing yet
            if message is not None and message.error() is None:
                handled[message.partition() or 0] = (message.offset() or 0) + 1
        b = members.join("b", **keys, **{"enable.partition.eof": True})
        again: list[int] = []
        at_end = False
        deadline = time.monotonic() + 30
        while not at_end and time.monotonic() < deadline:
            a.poll(0.05)
            message = b.poll(0.05)
            if message is None:
                continue
            error = message.error()
            if error is None:
                again.append(message.offset() or 0)
            elif error.code() == KafkaError._PARTITION_EOF:
                at_end = True
        if not at_end:
            raise RuntimeError("the newcomer never reached the end of its partition")
        return again
    finally:
        members.close()


async def handover(bootstrap: str, topic: str, group: str, *, commit_on_revoke: bool) -> list[int]:
    """Member a of a new `group` handles the 3 messages on each of `topic`'s 2 partitions (which
    must be empty) without committing; then b joins and `range` gives it partition 1. Returns
    the offsets b reads on it: what a handled and b handles again."""
    return await asyncio.to_thread(_handover, bootstrap, topic, group, commit_on_revoke)


@dataclass(frozen=True)
class StallRecord:
    """A member that stopped polling for longer than `max.poll.interval.ms`."""

    error: str
    """The error a's next poll returned."""
    owned: dict[str, tuple[int, ...]]
    """Who owned what while a was out of the group."""


def _stall(bootstrap: str, topic: str, group: str) -> StallRecord:
    members = Group(bootstrap, group, topic)
    keys = {
        "session.timeout.ms": STATIC_TIMEOUT_MS,
        "max.poll.interval.ms": STATIC_TIMEOUT_MS,  # librdkafka refuses less than the session
        "log_level": 3,  # its MAXPOLL warning (with a varying delay in it) stays off the output
    }
    try:
        for name in ("a", "b"):
            members.join(name, **keys)
        members.poll_until(members.even(2), 30)
        members.poll_until(lambda: members.owned["b"] == {0, 1}, 30, skip="a")  # a stalls
        owned = _sorted(members.owned)
        message = members.members["a"].poll(1.0)
        error = message.error() if message is not None else None
        return StallRecord(error.name() if error is not None else "none", owned)
    finally:
        members.close()


async def stall(bootstrap: str, topic: str, group: str) -> StallRecord:
    """Members a and b of a new `group` share `topic` (2 partitions); then a stops polling
    until b owns both (at most 30 s), and polls once more."""
    return await asyncio.to_thread(_stall, bootstrap, topic, group)
