"""Lesson 08's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from eda_lib.brokers import partition_for_key
from eda_lib.brokers.base import Record, TopicPartition
from eda_lib.codecs import decode_message
from eda_lib.events import Event
from eda_lib.exercises.lesson08 import (
    check_order_collector,
    check_partition_prediction,
    check_restart_offset,
    check_type_header,
)


async def test_order_collector() -> None:
    from eda_lib import Consumer

    async def right(broker):  # type: ignore[no-untyped-def]
        seen: dict[str, list[str]] = {}

        def note(event: Event) -> None:
            seen.setdefault(event.order_id, []).append(event.event_type)  # type: ignore[attr-defined]

        async with Consumer(broker, "collector", "orders", note, start="earliest") as consumer:
            await consumer.run(max_events=6, timeout=5)
        return seen

    async def never_commits(broker):  # type: ignore[no-untyped-def]
        await broker.join("collector", ["orders"], member="m", start="earliest")
        seen: dict[str, list[str]] = {}
        for _ in range(3):
            for record in (await broker.poll("collector", "m", max_records=10)).records:
                event = decode_message(record.value, record.headers)
                seen.setdefault(event.order_id, []).append(event.event_type)
        await broker.leave("collector", "m")
        return seen

    async def reads_one_partition(broker):  # type: ignore[no-untyped-def]
        records = await broker.read("orders", 0)
        return {"order-1": [len(records)]}

    def collecting(commit: str):  # type: ignore[no-untyped-def]
        async def collect(broker):  # type: ignore[no-untyped-def]
            seen: dict[str, list[str]] = {}

            def note(event: Event) -> None:
                seen.setdefault(event.order_id, []).append(event.event_type)  # type: ignore[attr-defined]

            async with Consumer(
                broker, "collector", "orders", note, start="earliest", commit=commit
            ) as consumer:
                await consumer.run(max_events=6, timeout=5)
            return seen

        return collect

    fixed_answer = {
        "order-1": ["OrderCreated", "OrderApproved"],
        "order-2": ["OrderCreated", "OrderCancelled"],
        "order-3": ["OrderCreated", "OrderApproved"],
    }

    async def raw_loop_committing_first(broker):  # type: ignore[no-untyped-def]
        await broker.join("collector", ["orders"], member="m", start="earliest")
        seen: dict[str, list[str]] = {}
        for _ in range(3):
            batch = await broker.poll("collector", "m", max_records=10)
            ends = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in batch.records}
            if ends:
                await broker.commit("collector", "m", ends)  # at most once: before handling
            for record in batch.records:
                event = decode_message(record.value, record.headers)
                seen.setdefault(event.order_id, []).append(event.event_type)
        await broker.leave("collector", "m")
        return seen

    async def commits_all_handles_nothing(broker):  # type: ignore[no-untyped-def]
        await broker.join("collector", ["orders"], member="m", start="earliest")
        batch = await broker.poll("collector", "m", max_records=10)
        ends = {TopicPartition(r.topic, r.partition): r.offset + 1 for r in batch.records}
        await broker.commit("collector", "m", ends)
        return dict(fixed_answer)

    async def consumer_then_fixed_answer(broker):  # type: ignore[no-untyped-def]
        async with Consumer(broker, "collector", "orders", lambda e: None, start="earliest") as c:
            await c.run(max_events=6, timeout=5)
        return dict(fixed_answer)  # copied from the first refusal's 'expected'

    async def from_latest(broker):  # type: ignore[no-untyped-def]
        seen: dict[str, list[str]] = {}

        def note(event: Event) -> None:
            seen.setdefault(event.order_id, []).append(event.event_type)  # type: ignore[attr-defined]

        async with Consumer(broker, "collector", "orders", note, start="latest") as consumer:
            await consumer.run(max_events=6, timeout=0.5)
        return seen

    commits_first, by_batch = collecting("before"), collecting("batch")

    assert await check_order_collector(right)
    assert await check_order_collector(by_batch)  # at least once too, fewer commits
    refused = repr(await check_order_collector(commits_first))
    assert "at most once" in refused and "before handling" in refused
    assert "expected" in repr(await check_order_collector(reads_one_partition))
    assert "not committed" in repr(await check_order_collector(never_commits))
    for unjudged in (raw_loop_committing_first, commits_all_handles_nothing):
        refused = repr(await check_order_collector(unjudged))
        assert "cannot see when your code handled" in refused, unjudged.__name__
        assert "use a Consumer" in refused, unjudged.__name__
    fixed = repr(await check_order_collector(consumer_then_fixed_answer))
    assert "three other orders" in fixed and "not a fixed answer" in fixed
    late = repr(await check_order_collector(from_latest))
    assert "started at 'latest'" in late and "start='earliest'" in late


def test_type_header() -> None:
    def right(record):  # type: ignore[no-untyped-def]
        return dict(record.headers)["ce_type"].decode()

    def from_the_value(record):  # type: ignore[no-untyped-def]
        return record.value.decode()

    def by_name(record):  # type: ignore[no-untyped-def]
        return next(value for name, value in record.headers if name == "ce_type").decode()

    def first_with_type_in_its_name(record):  # type: ignore[no-untyped-def]
        return next(value for name, value in record.headers if "type" in name).decode()

    def last_with_type_in_its_name(record):  # type: ignore[no-untyped-def]
        return [value for name, value in record.headers if "type" in name][-1].decode()

    def ending_in_type(record):  # type: ignore[no-untyped-def]
        return next(value for name, value in record.headers if name.endswith("type")).decode()

    passed = check_type_header(right)  # the notebook's solution
    assert passed and "named 'ce_type'" in passed.message, passed.message
    assert check_type_header(by_name)
    assert "raised" in repr(check_type_header(lambda record: record.headers["ce_type"]))
    from_value = check_type_header(from_the_value)
    assert not from_value and "print record.headers" in from_value.message
    assert "ce_type" not in from_value.message  # the first try's hint does not name it
    for by_part_of_the_name in (
        first_with_type_in_its_name,
        last_with_type_in_its_name,
        ending_in_type,
    ):
        refused = check_type_header(by_part_of_the_name)
        assert not refused, by_part_of_the_name.__name__
        assert "got 'application/json'" in refused.message, refused.message
        assert "the value of the header 'content-type'" in refused.message
        assert "named exactly 'ce_type'" in refused.message

    def at_position(i: int) -> Callable[[Record], str]:
        return lambda record: record.headers[i][1].decode()

    for position in (0, 3):  # ce_specversion's place, and ce_type's in the codec's own order
        refused = check_type_header(at_position(position))
        assert not refused and "in no set order" in refused.message, refused.message


def test_partition_prediction() -> None:
    key = b"order-20"
    right = check_partition_prediction(partition_for_key(key, 3))  # the notebook's solution
    assert right.passed, right.message
    wrong = {
        "the first partition": 0,
        "librdkafka's default rule, CRC32": zlib.crc32(key) % 3,
        "murmur2 on 4 partitions": partition_for_key(key, 4),
        "True, which equals 1": True,
    }
    assert len({v for k, v in wrong.items() if k != "True, which equals 1"}) == 3  # each differs
    for idea, answer in wrong.items():
        check = check_partition_prediction(answer)  # type: ignore[arg-type]
        assert not check.passed, idea
        assert "section 2 computes it with partition_for_key" in check.message, idea
        assert "b'order-20', 3" not in check.message, idea  # the hint is not the answer
    assert "CRC32" in check_partition_prediction(zlib.crc32(key) % 3).message
    assert "0, 1 and 2" in check_partition_prediction(partition_for_key(key, 4)).message


async def test_restart_offset() -> None:
    # Five events, three handled and committed: the next member starts at the committed offset.
    assert (await check_restart_offset(3)).passed  # the notebook's solution
    for idea, answer in {"the last handled": 2, "the log's end": 5, "the beginning": 0}.items():
        check = await check_restart_offset(answer)
        assert not check.passed and "committed offset is the next one" in check.message, idea
    for not_an_int in (3.0, True, "3"):  # 3.0 == 3 in Python: the type is checked first
        check = await check_restart_offset(not_an_int)  # type: ignore[arg-type]
        assert not check.passed and "is not an offset" in check.message, not_an_int


def test_stopped_partitions() -> None:
    from eda_lib.exercises.lesson08 import check_stopped_partitions

    def right(strategy, before, after):  # type: ignore[no-untyped-def]
        if strategy == "range":
            return {member: set(had) for member, had in before.items()}
        return {member: had - after[member] for member, had in before.items()}

    passed = check_stopped_partitions(right)  # the notebook's solution
    assert passed and "0 from a and 1 from b" in passed.message, passed.message

    def everything(strategy, before, after):  # type: ignore[no-untyped-def]
        return {member: set(had) for member, had in before.items()}

    def only_moved(strategy, before, after):  # type: ignore[no-untyped-def]
        return {member: had - after[member] for member, had in before.items()}

    def gained(strategy, before, after):  # type: ignore[no-untyped-def]
        return {member: has - before.get(member, set()) for member, has in after.items()}

    def nothing(strategy, before, after):  # type: ignore[no-untyped-def]
        return {member: set() for member in before}

    refused = check_stopped_partitions(everything)
    assert not refused and "cooperative-sticky revokes only" in refused.message, refused.message
    refused = check_stopped_partitions(only_moved)
    assert not refused and "range is eager" in refused.message, refused.message
    refused = check_stopped_partitions(gained)
    assert not refused and "partitions a member gains" in refused.message, refused.message
    refused = check_stopped_partitions(nothing)
    assert not refused and "range is eager" in refused.message, refused.message
    refused = check_stopped_partitions(lambda strategy, before, after: [0, 1])
    assert not refused and "not a dict of sets" in refused.message, refused.message
    assert "raised" in check_stopped_partitions(lambda strategy, before, after: 1 / 0).message
