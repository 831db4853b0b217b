"""Lesson 02's scaling lab: more members help until there is one per partition."""

from __future__ import annotations

from collections import Counter

import pytest


async def test_scaling_stops_where_the_partitions_end() -> None:
    from eda_lib.brokers import partition_for_key
    from eda_lib.labs import scale_out

    sizes = Counter(partition_for_key(f"order-{n}".encode(), 4) for n in range(48))
    runs = {m: await scale_out(m, partitions=4, events=48) for m in (1, 4, 5)}
    assert runs[1].handled_by == {"packer-1": 48}
    assert sorted(runs[4].handled_by.values()) == sorted(sizes.values())  # one partition each
    assert runs[5].idle == 1 and sorted(runs[5].handled_by.values())[1:] == sorted(sizes.values())
    assert runs[4].drain_seconds == pytest.approx(max(sizes.values()) * 0.1)
    assert runs[5].events_per_second == pytest.approx(runs[4].events_per_second)
