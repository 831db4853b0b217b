"""Lesson 04's simulation: the claims the lesson makes about REST and events hold in the runs
themselves, the numbers are computed as they say, and bad input is refused with a clear reason."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from eda_lib.simulate import (
    EMAIL_OUTAGE,
    Comparison,
    Scenario,
    ServiceSpec,
    SimulationError,
    percentiles,
    simulate,
)

START, END = EMAIL_OUTAGE


def _payment_success(comparison: Comparison) -> float:
    """From the REST run: the share of checkouts whose first call, payment, went through."""
    records = comparison.rest.records
    return sum(r.failed_call != "payment" for r in records) / len(records)


def test_email_down_fails_rest_checkouts_but_not_event_driven_ones(
    usual: Comparison, outage: Comparison
) -> None:
    timeout = outage.scenario.timeout_ms
    # Placed early enough in the window that payment and shipping (at most a timeout each)
    # are done before email comes back: the chain reaches email while it is down.
    during = [r for r in outage.rest.records if START <= r.placed_at < END - 2 * timeout]
    assert len(during) > 400
    assert not any(r.ok for r in during)
    reached_email = [r for r in during if r.failed_call not in ("payment", "shipping")]
    assert reached_email and all(r.failed_call == "email" for r in reached_email)
    assert outage.rest.success_rate < usual.rest.success_rate - 0.2

    assert outage.events.success_rate == usual.events.success_rate
    assert outage.events.success_rate == pytest.approx(_payment_success(outage))
    assert outage.events.latency_percentiles() == usual.events.latency_percentiles()


def test_every_receipt_is_sent_those_of_the_outage_after_email_comes_back(
    outage: Comparison,
) -> None:
    sent = [r for r in outage.events.records if r.ok]
    assert outage.events.pending_receipts == 0
    assert all(r.receipt_sent_at is not None for r in sent)
    placed_during = [r for r in sent if START <= r.placed_at < END]
    assert len(placed_during) > 400
    assert all(r.receipt_sent_at is not None and r.receipt_sent_at >= END for r in placed_during)
    # The price: receipts wait up to the whole outage, and email's queue holds them meanwhile.
    assert outage.events.receipt_percentiles()["p99"] > 0.5 * (END - START)
    assert outage.events.max_backlog["email"] >= len(placed_during)
    before = [r.time_to_receipt_ms or math.inf for r in sent if r.placed_at < START - 5_000]
    assert statistics.median(before) < 1_000


def test_slow_analytics_slows_the_rest_checkout_and_not_the_event_driven_one(
    usual: Comparison,
) -> None:
    analytics = usual.scenario.analytics.latency_ms
    slow = simulate(usual.scenario.with_service("analytics", latency_ms=10 * analytics))
    assert slow.rest.latency_percentiles()["p99"] > 1.5 * usual.rest.latency_percentiles()["p99"]
    assert slow.rest.latency_percentiles()["p50"] > usual.rest.latency_percentiles()["p50"]
    assert slow.events.latency_percentiles() == usual.events.latency_percentiles()
    assert slow.events.success_rate == usual.events.success_rate
    # Its own queue takes the blow instead, and still drains.
    assert slow.events.max_backlog["analytics"] > 10 * usual.events.max_backlog["analytics"]
    assert all(r.analysed_at is not None for r in slow.events.records if r.ok)


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    scenario = Scenario(checkouts=300, seed=11)
    first, again = simulate(scenario), simulate(Scenario(checkouts=300, seed=11))
    assert first == again
    assert first.summary() == again.summary()
    other = simulate(Scenario(checkouts=300, seed=12))
    assert other.rest.records != first.rest.records
    assert other.events.records != first.events.records
    assert other.rest.latency_percentiles() != first.rest.latency_percentiles()


def test_a_declined_payment_fails_the_checkout_in_both_designs() -> None:
    result = simulate(Scenario(checkouts=400).with_service("payment", failure_rate=0.3))
    declined_rest = {r.index for r in result.rest.records if r.failed_call == "payment"}
    declined_events = {r.index for r in result.events.records if not r.ok}
    assert 60 < len(declined_rest) < 180
    assert declined_events == declined_rest
    for rest, events in zip(result.rest.records, result.events.records, strict=True):
        if rest.index in declined_rest:
            assert events.failed_call == "payment"
            assert events.response_ms == rest.response_ms  # refused before anything is published
            assert (events.shipped_at, events.receipt_sent_at, events.analysed_at) == (None,) * 3


def test_nothing_is_lost_when_consumers_fail_and_retry() -> None:
    scenario = Scenario(checkouts=400)
    for name in ("shipping", "email", "analytics"):
        scenario = scenario.with_service(name, failure_rate=0.3)
    scenario = scenario.with_service("shipping", down=((5_000, 15_000), (20_000, 22_000)))
    events = simulate(scenario).events
    for r in events.records:
        reactions = (r.shipped_at, r.receipt_sent_at, r.analysed_at)
        if r.ok:
            assert all(t is not None and t >= r.placed_at + r.response_ms for t in reactions)
        else:
            assert reactions == (None, None, None)
    assert events.pending_receipts == 0


def test_a_service_that_never_comes_back_stops_at_the_horizon() -> None:
    scenario = Scenario(checkouts=200, horizon_ms=60_000).with_service("email", down=((0, 10**12),))
    events = simulate(scenario).events
    succeeded = sum(r.ok for r in events.records)
    assert events.pending_receipts == succeeded > 0
    assert events.max_backlog["email"] == succeeded  # nothing left the queue
    assert math.isnan(events.receipt_percentiles()["p50"])
    assert all(r.shipped_at is not None for r in events.records if r.ok)
    assert events.summary()["receipts pending"] == succeeded


def _oracle(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def test_percentiles_match_the_standard_library_and_numpy(usual: Comparison) -> None:
    for result in (usual.rest, usual.events):
        latencies = [r.response_ms for r in result.records]
        assert result.latency_percentiles() == pytest.approx(_oracle(latencies))
        assert list(result.latency_percentiles().values()) == pytest.approx(
            list(np.percentile(latencies, [50, 95, 99]))
        )
        waits = [r.time_to_receipt_ms for r in result.records if r.ok]
        assert result.receipt_percentiles() == pytest.approx(
            _oracle([wait for wait in waits if wait is not None])
        )
    assert percentiles([5.0]) == {"p50": 5.0, "p95": 5.0, "p99": 5.0}
    assert percentiles([0.0, 10.0]) == pytest.approx({"p50": 5.0, "p95": 9.5, "p99": 9.9})
    assert all(math.isnan(v) for v in percentiles([]).values())


def test_the_summary_is_rounded_headline_numbers(outage: Comparison) -> None:
    summary = outage.summary()
    assert set(summary) == {"rest", "events"}
    events = summary["events"]
    assert events["success %"] == round(100 * outage.events.success_rate, 1)
    assert events["p99 ms"] == round(outage.events.latency_percentiles()["p99"])
    assert events["receipts pending"] == 0
    assert events["max backlog email"] == outage.events.max_backlog["email"]
    assert "max backlog email" not in summary["rest"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ServiceSpec("email", -1.0), "email: latency_ms is -1.0; give 0 or more"),
        (lambda: ServiceSpec("email", math.nan), "email: latency_ms is nan; give 0 or more"),
        (lambda: ServiceSpec("email", 1.0, sigma=-0.5), "email: sigma is -0.5; give 0 or more"),
        (
            lambda: ServiceSpec("email", 1.0, failure_rate=1.5),
            "email: failure_rate is 1.5; give a probability, 0 to 1",
        ),
        (
            lambda: ServiceSpec("email", 1.0, down=((5.0, 1.0),)),
            "email: down window (5.0, 1.0) is not (start_ms, end_ms), 0 <= start <= end",
        ),
        (
            lambda: ServiceSpec("email", 1.0, down=(0.0, 60.0)),  # type: ignore[arg-type]
            "email: down window 0.0 is not (start_ms, end_ms)",
        ),
        (
            lambda: ServiceSpec("mail", 1.0),
            "unknown service 'mail': use one of payment, shipping, email, analytics",
        ),
        (
            lambda: Scenario().with_service("mail", latency_ms=1.0),
            "unknown service 'mail': use one of payment, shipping, email, analytics",
        ),
        (
            lambda: Scenario().with_service("email", failure_rate=-0.1),
            "email: failure_rate is -0.1",
        ),
        (lambda: Scenario(checkouts=0), "checkouts is 0; give a whole number, 1 or more"),
        (lambda: Scenario(checkouts=2.5), "checkouts is 2.5; give a whole number"),  # type: ignore[arg-type]
        (lambda: Scenario(mean_gap_ms=0), "mean_gap_ms is 0; give more than 0"),
        (lambda: Scenario(timeout_ms=-1), "timeout_ms is -1; give more than 0"),
        (lambda: Scenario(backoff_ms=0), "backoff_ms is 0; give more than 0"),
        (lambda: Scenario(horizon_ms=0), "horizon_ms is 0; give more than 0"),
        (lambda: Scenario(publish_ms=-2), "publish_ms is -2; give 0 or more"),
        (
            lambda: Scenario(payment=ServiceSpec("email", 40.0)),
            "the payment field holds ServiceSpec(name='email'",
        ),
    ],
)
def test_bad_input_is_refused_saying_what_to_change(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(SimulationError) as refused:
        make()
    assert str(refused.value).startswith(message)
    assert isinstance(refused.value, ValueError)


def test_with_service_changes_one_service_and_keeps_the_rest() -> None:
    base = Scenario(checkouts=50, seed=3)
    changed = base.with_service("email", down=[[0, 10]], latency_ms=80)  # type: ignore[list-item]
    assert changed.email == ServiceSpec("email", 80.0, down=((0.0, 10.0),))
    assert (changed.payment, changed.checkouts, changed.seed) == (base.payment, 50, 3)
    assert changed.with_service("email", down=()).email.down == ()
    assert changed.with_service("email", sigma=0.1).email.down == ((0.0, 10.0),)


@pytest.mark.parametrize("seed", range(100))
def test_the_lessons_claims_hold_for_every_seed(seed: int) -> None:
    """Lesson 04's claims, on 100 seeds rather than the one the lesson shows: a smaller run
    (400 checkouts, one every 300 ms on average, so 2 minutes) with email down for 30 s."""
    base = Scenario(checkouts=400, mean_gap_ms=300.0, seed=seed)
    start, end = 40_000.0, 70_000.0
    usual = simulate(base)
    outage = simulate(base.with_service("email", down=((start, end),)))
    slow = simulate(base.with_service("analytics", latency_ms=300.0))
    again = simulate(Scenario(checkouts=400, mean_gap_ms=300.0, seed=seed))
    assert again == usual  # reproducible

    margin = 2 * base.timeout_ms
    during = [r for r in outage.rest.records if start <= r.placed_at < end - margin]
    assert during and not any(r.ok for r in during)
    assert outage.rest.success_rate < usual.rest.success_rate
    assert outage.events.success_rate == usual.events.success_rate
    assert outage.events.pending_receipts == 0
    late = [r for r in outage.events.records if r.ok and start <= r.placed_at < end]
    assert late and all(r.receipt_sent_at is not None and r.receipt_sent_at >= end for r in late)

    assert slow.rest.latency_percentiles()["p99"] > usual.rest.latency_percentiles()["p99"]
    assert slow.events.latency_percentiles() == usual.events.latency_percentiles()
    declined = {r.index for r in usual.rest.records if r.failed_call == "payment"}
    assert declined == {r.index for r in usual.events.records if not r.ok}
