"""Lesson 14's dashboard lab."""

from __future__ import annotations

from datetime import timedelta

from eda_lib import InMemoryBroker, reproducible
from eda_lib.labs import DashboardLab
from eda_lib.viz import plot_window_counts


async def test_the_dashboard_counts_payments_per_currency_per_minute() -> None:
    with reproducible(seed=14):
        async with InMemoryBroker() as broker:
            lab = DashboardLab(broker, allowed_lateness=timedelta(seconds=30))
            await lab.start()
            made = await lab.publish(25, seconds_apart=6)
            await lab.step()
            await lab.publish_late(10)
            await lab.publish_late(60)
            second = await lab.step()
            rows = lab.rows()
            await lab.stop()
    assert (second.late, second.too_late) == (1, 1)
    closed = [r for r in rows if r.closed]
    by_hand: dict[tuple[str, int], int] = {}
    for payment in made:
        minute = payment.occurred_at.minute
        by_hand[payment.currency, minute] = by_hand.get((payment.currency, minute), 0) + 1
    assert {(r.currency, r.window.start.minute): r.count for r in closed} == {
        k: n for k, n in by_hand.items() if k[1] < 2
    }
    assert any(not r.closed for r in rows)
    assert "27 payments published" in lab.summary() and "1 too late" in lab.summary()
    assert plot_window_counts(rows).axes[0].get_xlabel().startswith("window start")
