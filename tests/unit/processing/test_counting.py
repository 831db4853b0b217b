"""The windowed count between two topics (lesson 14), checked against counts made by hand from
what was produced; late and too-late events; a crash mid-window and a crash between publishing
and committing, resumed without double counting."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest

from eda_lib import InMemoryBroker, Producer
from eda_lib.brokers.base import partition_for_key
from eda_lib.domain import SensorReading
from eda_lib.explorer import events
from eda_lib.processing import Sliding, Tumbling, WindowCounted, WindowedCount, keep
from tests.unit.processing.readings import TEN, at, by_hand, counted, processor, reading


async def fresh_broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    for topic in ("readings", "counts"):
        await broker.create_topic(topic)
    return broker


async def test_counts_per_key_per_window_match_a_count_by_hand() -> None:
    readings = [reading(f"s{n % 3}", seconds) for n, seconds in enumerate(range(0, 60, 2))]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", readings)
        async with await processor(broker) as counter:
            report = await counter.run()
        published = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
        state = await broker.describe()
    assert counter.watermark == at(58)
    assert counted(published) == by_hand(readings, at(58)) and published == counter.results
    assert (report.read, report.counted, report.emitted) == (30, 30, len(published))
    assert len(counter.open) == 3  # the last window, [50, 60), is still open for each sensor
    first_open = min(n for n, r in enumerate(readings) if r.measured_at >= at(50))
    assert state.group("counter").committed == {("readings", 0): first_open}  # type: ignore[comparison-overlap]


async def test_late_events_count_while_their_window_is_open_and_later_ones_are_dead_lettered() -> (
    None
):
    sent = [
        reading("s1", 1),
        reading("s1", 12),
        reading("s1", 8),  # 4 s behind the latest, within the 5 s allowed: counts in [0, 10)
        reading("s1", 21),
        reading("s1", 9),  # 12 s behind: [0, 10) closed when the watermark reached 16
    ]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", sent)
        async with await processor(
            broker, allowed_lateness=timedelta(seconds=5), batch_size=1
        ) as c:
            report = await c.run()
        parked = await broker.read("readings.dead-letter", 0)
    assert (report.counted, report.late, report.too_late) == (4, 1, 1)
    assert counted(c.results) == {("s1", at(0)): 2}  # the watermark, 21 - 5 = 16, closed it
    assert {w.start for _, _, w in c.open} == {at(10), at(20)}  # still open
    assert [dict(r.headers)["dlt-reason"] for r in parked] == [b"too_late"]
    assert b"closed (the partition's watermark is 09:00:16)" in dict(parked[0].headers)["dlt-error"]


async def test_sliding_windows_count_each_event_in_every_window_it_falls_in() -> None:
    sent = [reading("s1", s) for s in (5, 15, 25, 95)]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", sent)
        async with await processor(broker, window=Sliding(timedelta(seconds=30), TEN)) as c:
            await c.run()
    got = counted(c.results)
    assert got[("s1", at(0))] == 3 and got[("s1", at(-20))] == 1 and got[("s1", at(20))] == 1
    assert sum(got.values()) == 3 * 3  # three early events, each in three windows, all closed


async def test_unreadable_records_and_dropped_events_are_accounted_for() -> None:
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", [reading("s1", 1, 20), reading("s1", 2, 90)])
        await broker.produce("readings", b"not an event")
        await Producer(broker).send("readings", reading("s1", 30))
        steps = [keep(lambda e: e.celsius > 50)]
        async with await processor(broker, steps=steps) as c:
            report = await c.run()
        parked = await broker.read("readings.dead-letter", 0)
    assert (report.read, report.dropped, report.unreadable, report.counted) == (4, 1, 1, 2)
    assert counted(c.results) == {("s1", at(0)): 1}
    assert dict(parked[0].headers)["dlt-reason"] == b"not_json"


@pytest.mark.parametrize("crash_after", [3, 10, 17, 24])
async def test_a_crash_mid_window_resumes_without_double_counting(crash_after: int) -> None:
    readings = [reading(f"s{n % 2}", seconds) for n, seconds in enumerate(range(0, 90, 3))]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", readings)
        first = await processor(broker)
        await first.start()
        await first.run(max_events=crash_after)
        await first.crash()  # its open windows are gone with it
        async with await processor(broker) as second:
            await second.run()
        published = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
    assert counted(published) == by_hand(readings, at(87))
    assert len({e.id for e in published}) == len(published)  # no window published twice


@pytest.mark.parametrize("how", ["stop", "crash"])
async def test_the_same_processor_stopped_and_started_again_counts_nothing_twice(how: str) -> None:
    readings = [reading(f"s{n % 2}", seconds) for n, seconds in enumerate(range(0, 90, 3))]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", readings)
        counter = await processor(broker)
        await counter.start()
        await counter.run(max_events=11)  # windows open in memory, their events uncommitted
        await (counter.stop() if how == "stop" else counter.crash())
        await counter.start()  # the same object: it must forget what it had not published
        await counter.run()
        await counter.stop()
        published = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
    assert counted(published) == by_hand(readings, at(87))


async def test_an_event_published_twice_upstream_counts_once() -> None:
    readings = [reading(f"s{n % 2}", seconds) for n, seconds in enumerate(range(0, 60, 3))]
    again = readings[4]  # the same event (same id), as a producer that crashed sends it again
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", [*readings[:6], again, *readings[6:]])
        async with await processor(broker) as counter:
            report = await counter.run()
        published = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
    assert report.repeats == 1 and report.read == len(readings) + 1
    assert counted(published) == by_hand(readings, at(57))


async def test_a_crash_between_publishing_and_committing_neither_loses_nor_repeats() -> None:
    class DiesBeforeItsFirstCommit(WindowedCount):
        async def _commit(self) -> None:
            raise RuntimeError("killed before the commit")

    readings = [reading("s1", s) for s in range(0, 40, 4)]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", readings)
        doomed = DiesBeforeItsFirstCommit(
            broker,
            source="readings",
            sink="counts",
            group="counter",
            window=Tumbling(TEN),
            key=lambda e: e.sensor_id,
            event_time=lambda e: e.measured_at,
            batch_size=5,
        )
        await doomed.start()
        with pytest.raises(RuntimeError, match="killed"):
            await doomed.run()
        await doomed.crash()
        async with await processor(broker, batch_size=5) as again:
            again_report = await again.run()
        published = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
    assert len({e.id for e in published}) == len(published)  # nothing published twice
    assert counted(published) == by_hand(readings, at(36))
    assert again_report.replayed > 0  # the events of the published windows, skipped
    name = "5f1a7c3e-6b0d-4c1e-9a7e-0e5d2c4b8a91"
    assert all(
        e.id
        == uuid.uuid5(
            uuid.UUID(name),
            f"counter|0|s1|{e.window_start.isoformat()}|{e.window_end.isoformat()}",
        )
        for e in published
    )


def keys_on(partitions: int) -> list[str]:
    """One sensor name per partition, found with the partitioner a keyed producer uses."""
    found: dict[int, str] = {}
    for n in range(100):
        found.setdefault(partition_for_key(f"s{n}".encode(), partitions), f"s{n}")
    return [found[p] for p in range(partitions)]


async def test_a_fast_partition_does_not_close_a_slow_ones_windows() -> None:
    sensors = keys_on(3)
    readings = [reading(sensors[n % 3], n // 3) for n in range(90)]  # in perfect time order
    async with InMemoryBroker() as broker:
        await broker.create_topic("readings", partitions=3)
        await broker.create_topic("counts")
        await Producer(broker).send_all("readings", readings)
        async with await processor(broker, batch_size=500) as c:
            report = await c.run()
    assert report.too_late == 0 and report.counted == 90
    assert counted(c.results) == by_hand(readings, at(29))
    assert {r.source_partition for r in c.results} == {0, 1, 2}


async def crash_run(
    before: list[SensorReading], after: list[SensorReading], crash_after: int, **options: object
) -> tuple[dict[tuple[str, datetime], int], list[bytes]]:
    """Produce `before`, run until `crash_after` events were read, crash, produce `after`,
    resume; the published counts (one per window) and the dead-lettered records' values."""
    async with InMemoryBroker() as broker:
        await broker.create_topic("readings", partitions=2)
        await broker.create_topic("counts")
        await Producer(broker).send_all("readings", before)
        if crash_after:
            doomed = await processor(broker, **options)
            await doomed.start()
            await doomed.run(max_events=crash_after)
            await doomed.crash()
        await Producer(broker).send_all("readings", after)
        async with await processor(broker, **options) as resumed:
            await resumed.run()
        results = [e for e in await events(broker, "counts") if isinstance(e, WindowCounted)]
        parked = await broker.read("readings.dead-letter", 0)
    by_id = {e.id: e for e in results}
    assert all(by_id[e.id].count == e.count for e in results)  # a repeat is the same result
    return counted(list(by_id.values())), sorted({r.value for r in parked})


@pytest.mark.parametrize("seed", range(40))
async def test_a_crash_anywhere_on_two_partitions_changes_no_count(seed: int) -> None:
    rng = random.Random(seed)
    a, b = keys_on(2)
    moments = sorted(rng.uniform(0, 80) for _ in range(24))
    stream = [reading(rng.choice((a, b)), round(t + rng.uniform(-9, 2), 1)) for t in moments]
    cut = rng.randrange(8, 24)
    options = {
        "allowed_lateness": timedelta(seconds=rng.choice((0, 3, 6))),
        "batch_size": rng.choice((1, 2, 5)),
        "window": rng.choice((Tumbling(TEN), Sliding(timedelta(seconds=20), TEN))),
    }
    crashed = await crash_run(stream[:cut], stream[cut:], rng.randrange(1, cut), **options)
    whole = await crash_run(stream[:cut], stream[cut:], 0, **options)
    assert crashed[0] == whole[0]  # the same count for every window
    assert crashed[1] == whole[1]  # the same readings dead-lettered (repeats aside)


async def test_a_reading_too_late_for_one_sliding_window_counts_in_the_others_and_says_so() -> None:
    sent = [reading("s1", 5), reading("s1", 25), reading("s1", 8), reading("s1", 60)]
    async with await fresh_broker() as broker:
        await Producer(broker).send_all("readings", sent)
        window = Sliding(timedelta(seconds=30), TEN)
        async with await processor(broker, window=window, batch_size=1) as c:
            report = await c.run()
        parked = await broker.read("readings.dead-letter", 0)
    got = counted(c.results)
    assert got[("s1", at(-20))] == 1 and got[("s1", at(0))] == 3  # 8 s counted where still open
    assert report.too_late == 1 and len(parked) == 1
    assert (
        b"window [08:59:40, 09:00:10), [08:59:50, 09:00:20) closed"
        in dict(parked[0].headers)["dlt-error"]
    )
