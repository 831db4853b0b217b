"""Looking inside a Kafka cluster without joining a group: offsets, group lag, records."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as KafkaTopicPartition
from aiokafka.errors import KafkaError

from eda_lib.brokers.base import (
    DEAD_LETTER_SUFFIX,
    BrokerState,
    GroupState,
    PartitionState,
    Record,
    TopicPartition,
    check_read,
)
from eda_lib.kafka.members import KafkaMembers
from eda_lib.kafka.topics import KafkaTopics, steadily, to_record

Offsets = dict[KafkaTopicPartition, int]
OFFSET_TRIES = 3
OFFSETS_WITHIN_S = 10.0


class KafkaInspector:
    """`describe` and `read` for a `KafkaBroker`, through one reusable group-less consumer."""

    def __init__(self, topics: KafkaTopics, members: KafkaMembers) -> None:
        self.topics = topics
        self.members = members
        self._probe: AIOKafkaConsumer | None = None
        # One question at a time: each names its topics to the probe, replacing the last list.
        self._asking = asyncio.Lock()

    async def _offsets(self, tps: list[KafkaTopicPartition]) -> tuple[Offsets, Offsets]:
        async with self._asking:
            return await self._ask(tps)

    async def _ask(self, tps: list[KafkaTopicPartition]) -> tuple[Offsets, Offsets]:
        if self._probe is None:
            probe = AIOKafkaConsumer(**self.topics.client_options(), enable_auto_commit=False)
            try:
                await probe.start()
            except KafkaError:
                await probe.stop()
                raise
            self._probe = probe
        # Left to itself, the client learns of the topics it is asked about one at a time, a
        # tenth of a second apart (a minute for 600 topics); so name them all up front, and
        # their metadata comes in one request. aiokafka has no public call for this.
        await self._probe._client.set_topics(sorted({tp.topic for tp in tps}))
        return await self._probe.beginning_offsets(tps), await self._probe.end_offsets(tps)

    async def describe(self, wanted: Collection[str] | None = None) -> BrokerState:
        for attempt in range(1, OFFSET_TRIES + 1):
            if wanted is None:
                topics = await self.topics.all()
            else:
                names = sorted({*wanted, *(t + DEAD_LETTER_SUFFIX for t in wanted)})
                topics = await self.topics.describe(names)
            tps = [KafkaTopicPartition(t, p) for t, n in topics.items() for p in range(n)]
            try:
                begins, ends = (
                    await asyncio.wait_for(self._offsets(tps), OFFSETS_WITHIN_S)
                    if tps
                    else ({}, {})
                )
                break
            except (KafkaError, TimeoutError):
                # A topic deleted a moment ago can still be listed while its partitions are
                # already gone; the client then waits for them until its request times out.
                # Ask again which topics there are, through a new client with fresh metadata.
                for probe in self.pop_probe():
                    with contextlib.suppress(Exception):
                        await probe.stop()
                if attempt == OFFSET_TRIES:
                    raise
                await asyncio.sleep(0.5)
        partitions = tuple(
            PartitionState(tp.topic, tp.partition, begins[tp], ends[tp]) for tp in tps
        )
        groups = [await self._group(group, topics, begins, ends) for group in self.members.groups()]
        state = BrokerState(partitions, tuple(groups))
        return state if wanted is None else state.only(wanted)

    async def _group(
        self, group: str, topics: dict[str, int], begins: Offsets, ends: Offsets
    ) -> GroupState:
        admin = await self.topics.admin()
        raw = await steadily(
            lambda: admin.list_consumer_group_offsets(group), "reading a group's offsets"
        )
        committed = {
            TopicPartition(tp.topic, tp.partition): meta.offset
            for tp, meta in raw.items()
            if meta.offset >= 0
        }
        live = list(self.members.of(group))
        members = {name: self.members.assignment(m) for name, m in live}
        subscribed = {t for _, m in live for t in m.topics}
        watched = sorted(subscribed | {tp.topic for tp in committed})
        owners = {tp: m.consumer for _, m in live for tp in m.since}
        lag = {}
        for tp in (KafkaTopicPartition(t, p) for t in watched for p in range(topics.get(t, 0))):
            ours = TopicPartition(tp.topic, tp.partition)
            floor = begins[tp] if self.members.starts.get(group) != "latest" else ends[tp]
            if ours not in committed and ours in owners:  # a live member knows where it is
                with contextlib.suppress(Exception):
                    floor = await asyncio.wait_for(owners[ours].position(tp), 5)
            lag[ours] = ends[tp] - max(committed.get(ours, floor), begins[tp])
        return GroupState(group, tuple(watched), members, committed, lag)

    async def read(self, topic: str, partition: int, start: int, limit: int) -> list[Record]:
        check_read(topic, partition, await self.topics.count(topic), start, limit)
        tp = KafkaTopicPartition(topic, partition)
        reader = AIOKafkaConsumer(**self.topics.client_options(), enable_auto_commit=False)
        try:
            await reader.start()
            reader.assign([tp])
            begin = (await reader.beginning_offsets([tp]))[tp]
            end = (await reader.end_offsets([tp]))[tp]
            reader.seek(tp, max(start, begin))
            records: list[Record] = []
            for _ in range(1000):
                if len(records) >= limit or (await reader.position(tp)) >= end:
                    break
                fetched = await reader.getmany(
                    tp, timeout_ms=1000, max_records=limit - len(records)
                )
                records.extend(to_record(r) for r in fetched.get(tp, []))
            return records
        finally:
            await reader.stop()

    def pop_probe(self) -> list[Any]:
        probe, self._probe = self._probe, None
        return [] if probe is None else [probe]
