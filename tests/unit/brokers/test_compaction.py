"""The log cleaner's rule (lesson 07): the last record per key, tombstones kept for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eda_lib import InMemoryBroker, VirtualClock
from eda_lib.brokers import Retention
from eda_lib.compaction import cleaned, latest_values, read_table
from eda_lib.core.broker import Record
from eda_lib.kafka.topics import _topic_configs

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def log(*pairs: tuple[bytes, bytes | None]) -> list[Record]:
    return [Record("t", 0, n, key, value, (), T0) for n, (key, value) in enumerate(pairs)]


def test_the_last_record_of_each_key_stays_in_offset_order() -> None:
    records = log((b"a", b"1"), (b"b", b"1"), (b"a", b"2"), (b"c", b"1"), (b"b", b"2"))
    kept = cleaned(records, now=T0, delete_retention=timedelta(days=1), horizons={})
    assert [(r.offset, r.key, r.value) for r in kept] == [
        (2, b"a", b"2"),
        (3, b"c", b"1"),
        (4, b"b", b"2"),
    ]


def test_a_tombstone_stays_for_delete_retention_after_the_first_cleaning_that_saw_it() -> None:
    records = log((b"a", b"1"), (b"a", None))
    horizons: dict[int, datetime] = {}
    day = timedelta(days=1)
    first = cleaned(records, now=T0, delete_retention=day, horizons=horizons)
    assert [(r.offset, r.value) for r in first] == [(1, None)]  # a's value went, its tombstone not
    assert horizons == {1: T0 + day}
    later = T0 + day - timedelta(seconds=1)
    assert cleaned(first, now=later, delete_retention=day, horizons=horizons) == first
    assert cleaned(first, now=T0 + day, delete_retention=day, horizons=horizons) == []


async def test_the_in_memory_cleaner_removes_the_tombstone_on_the_virtual_clock() -> None:
    clock = VirtualClock()
    broker = InMemoryBroker(clock=clock)
    await broker.create_topic("prices", retention=Retention(compact=True))
    for key, value in [(b"tea", b"3"), (b"tea", b"4"), (b"cake", b"5"), (b"cake", None)]:
        await broker.produce("prices", value, key=key)
    assert await broker.compact("prices") == 2
    assert [r.offset for r in await broker.read("prices", 0)] == [1, 3]
    clock.advance(24 * 3600)
    assert await broker.compact("prices") == 3
    assert await read_table(broker, "prices") == {b"tea": b"4"}
    assert [h.offset for h in broker.trace.select("compacted")] == [0, 2, 3]


async def test_only_a_compacted_topic_can_be_compacted() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("plain")
    with pytest.raises(ValueError, match=r"Retention\(compact=True\)"):
        await broker.compact("plain")


def test_a_negative_delete_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="delete_retention"):
        Retention(compact=True, delete_retention=timedelta(seconds=-1))


def test_kafka_gets_the_configs_that_make_its_cleaner_run_within_seconds() -> None:
    configs = _topic_configs(Retention(compact=True, delete_retention=timedelta(minutes=1)), {})
    assert configs == {
        "cleanup.policy": "compact",
        "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01",
        "min.compaction.lag.ms": "0",
        "delete.retention.ms": "60000",
    }
    aged = _topic_configs(Retention(compact=True, max_age=timedelta(hours=1)), None)
    assert (aged["cleanup.policy"], aged["retention.ms"]) == ("compact,delete", "3600000")
    assert _topic_configs(Retention(compact=True), {"segment.ms": "5000"})["segment.ms"] == "5000"
    asked = {"cleanup.policy": "compact"}  # the caller's own policy wins over the one implied
    assert _topic_configs(Retention(compact=True, max_age=timedelta(hours=1)), asked) == (
        _topic_configs(Retention(compact=True), asked) | {"retention.ms": "3600000"}
    )


pairs = st.lists(
    st.tuples(st.sampled_from([b"a", b"b", b"c"]), st.none() | st.binary(max_size=2)),
    max_size=30,
)


@given(pairs)
def test_a_table_read_from_the_cleaned_log_equals_one_read_from_the_whole_log(
    written: list[tuple[bytes, bytes | None]],
) -> None:
    records = log(*written)
    horizons: dict[int, datetime] = {}
    once = cleaned(records, now=T0, delete_retention=timedelta(0), horizons=horizons)
    twice = cleaned(once, now=T0, delete_retention=timedelta(0), horizons=horizons)
    assert latest_values(once) == latest_values(twice) == latest_values(records)
    assert len({r.key for r in once}) == len(once)  # no key twice
    assert all(r.value is not None for r in twice)  # the tombstones' time has passed
