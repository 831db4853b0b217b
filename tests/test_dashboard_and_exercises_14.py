"""Lesson 14's dashboard lab and widget, and its exercise checks."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

from eda_lib import InMemoryBroker, reproducible
from eda_lib.exercises_processing import RATES, check_sliding_counts, check_usd_step
from eda_lib.labs import DashboardLab
from eda_lib.processing import enrich
from eda_lib.viz import DashboardWidget, plot_window_counts


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


async def test_the_widget_buttons_call_the_labs_methods() -> None:
    with reproducible(seed=14):
        async with InMemoryBroker() as broker:
            lab = DashboardLab(broker)
            await lab.start()
            widget = DashboardWidget(lab)
            assert widget.chart.value == b""
            widget.publish.click()
            widget.process.click()
            await asyncio.gather(*widget.pending)
            first = bytes(widget.chart.value)
            widget.late.click()
            widget.process.click()
            await asyncio.gather(*widget.pending)
            await lab.stop()
    assert first.startswith(b"\x89PNG") and bytes(widget.chart.value) != first
    assert lab.published == 11 and "11 payments published" in widget.status.value


def test_the_usd_step_check() -> None:
    right = enrich(
        RATES,
        lambda e: e.currency,
        lambda e, r: e.revised(amount=round(e.amount * r), currency="USD"),
    )
    assert check_usd_step(right)
    cut = enrich(
        RATES,
        lambda e: e.currency,
        lambda e, r: e.revised(amount=int(e.amount * r), currency="USD"),
    )
    assert "3.33 EUR became 3.59 USD; expected 3.60 USD" in check_usd_step(cut).message
    keeps_jpy = check_usd_step(
        lambda e: e.revised(amount=round(e.amount * RATES.get(e.currency, 1)), currency="USD")
    )
    assert not keeps_jpy and "JPY payment (no rate) was passed on" in keeps_jpy.message
    no_rate = check_usd_step(
        enrich(RATES, lambda e: e.currency, lambda e, r: e.revised(currency="USD"))
    )
    assert not no_rate and "expected 108.00 USD" in no_rate.message
    unchanged = check_usd_step(lambda e: e)
    assert not unchanged and "became 100.00 EUR" in unchanged.message
    assert not check_usd_step(lambda e: None)


def test_the_sliding_counts_check() -> None:
    def sliding(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / every) * every
            while start > t - size:
                counts[start] = counts.get(start, 0) + 1
                start -= every
        return counts

    def tumbling(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / size) * size
            counts[start] = counts.get(start, 0) + 1
        return counts

    assert check_sliding_counts(sliding)
    wrong = check_sliding_counts(tumbling)
    assert not wrong and "expected but not given {-5.0: 2, 5.0: 2}" in wrong.message
    assert "start before 0" in wrong.message
    assert (
        "return a dict"
        in check_sliding_counts(lambda t, s, e: list(sliding(t, s, e).items())).message
    )

    def reaching_too_far(times: list[float], size: float, every: float) -> dict[float, int]:
        counts: dict[float, int] = {}
        for t in times:
            start = math.floor(t / every) * every
            while start >= t - size:  # one window too many when t - size is a window start
                counts[start] = counts.get(start, 0) + 1
                start -= every
        return counts

    assert not check_sliding_counts(reaching_too_far)
