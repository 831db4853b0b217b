"""Lesson 09's snapshot lab: what a replay costs with and without snapshots."""

from __future__ import annotations


def test_replay_cost_is_capped_below_the_snapshot_interval() -> None:
    from eda_lib.labs import replay_cost

    cost = replay_cost(range(1, 31), (None, 5))
    assert cost["full replay"] == list(range(1, 31))  # a full replay reads every event
    # Worked out by hand: the latest snapshot is at the last multiple of 5, so a load reads
    # what came after it (a stream shorter than 5 has no snapshot yet).
    assert cost["snapshot every 5"] == [n if n < 5 else n % 5 for n in range(1, 31)]
