"""Lesson 10's eventual-consistency lab: a read model that lags its writes, then catches up."""

from __future__ import annotations

import pytest

from eda_lib.labs import eventual_consistency


def test_the_read_model_lags_between_catch_ups_and_then_catches_up() -> None:
    run = eventual_consistency(seconds=10, orders_per_second=4, projector_every_s=2, tick_s=0.25)
    assert run.writes == 40
    assert run.stale_reads == run.writes  # a read straight after a write never sees it
    assert run.max_lag == 4 * 2  # everything written since the last catch-up
    assert run.final_lag == 0
    faster = eventual_consistency(orders_per_second=4, projector_every_s=0.5)
    assert faster.max_lag == 2 < run.max_lag


@pytest.mark.parametrize("read_after_s", [0.0, 0.5, 1.0, 1.75, 2.0, 3.0])
def test_a_read_misses_a_write_unless_the_projector_ran_in_between(read_after_s: float) -> None:
    run = eventual_consistency(
        seconds=10, orders_per_second=4, projector_every_s=2, read_after_s=read_after_s
    )
    # Worked out by hand, tick by tick (a tick is 0.25 s; one order per tick; the projector
    # runs at the end of ticks 8, 16, ..., 40): the order written in tick w is read in tick
    # w + delay, before that tick's catch-up; it is seen if a catch-up ran in ticks w..due-1.
    delay = round(read_after_s / 0.25)
    catch_ups = set(range(8, 41, 8))
    stale = 0
    for written in range(1, 41):
        due = written + delay
        if due > 40:
            continue  # read after the end, when everything has been projected
        stale += not any(written <= c < due for c in catch_ups)
    assert run.stale_reads == stale
