"""Lesson 04's simulation pictures: the widget does what the code does, and the plots show both
designs."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from eda_lib.simulate import Comparison, Scenario, simulate


def test_the_widget_does_what_its_code_api_does() -> None:
    from eda_lib.viz.simulation import SimulationWidget

    scenario = Scenario(checkouts=300)
    widget = SimulationWidget(scenario)
    assert widget.comparison == simulate(scenario)
    before = bytes(widget.chart.value)
    assert before.startswith(b"\x89PNG")

    result = widget.set_service("analytics", latency_ms=300)
    assert widget.scenario == scenario.with_service("analytics", latency_ms=300)
    assert result == widget.comparison == simulate(widget.scenario)
    assert widget.latency["analytics"].value == pytest.approx(300)
    assert bytes(widget.chart.value) != before
    assert (
        result.rest.latency_percentiles()["p99"]
        > 1.5 * simulate(scenario).rest.latency_percentiles()["p99"]
    )

    widget.failure["shipping"].value = 0.2  # what moving the slider does
    assert widget.scenario.shipping.failure_rate == 0.2
    assert widget.comparison == simulate(widget.scenario)

    widget.window.value = (5.0, 15.0)
    assert widget.scenario.email.down == ()  # the outage is off until it is ticked
    widget.email_down.value = True
    assert widget.scenario.email.down == ((5_000.0, 15_000.0),)
    assert widget.comparison.rest.success_rate < result.rest.success_rate
    widget.set_email_down(None)
    assert widget.email_down.value is False and widget.scenario.email.down == ()


def test_the_comparison_plot_has_both_designs_side_by_side(outage: Comparison) -> None:
    from eda_lib.viz.simulation import plot_comparison

    figure = plot_comparison(outage)
    assert isinstance(figure, Figure)
    latency, success = figure.axes
    assert latency.get_title() == "checkout response time (all checkouts)"
    assert success.get_title() == "checkouts that succeeded"
    assert [t.get_text() for t in latency.get_xticklabels()] == ["p50", "p95", "p99"]
    assert [t.get_text() for t in latency.get_legend().get_texts()] == [
        "REST call chain",
        "event-driven",
    ]
    assert figure.get_suptitle() == "2,000 checkouts; email down 60-120 s"
    assert plot_comparison(outage, title="t").get_suptitle() == "t"


def test_the_receipts_plot_shades_the_outage_and_marks_rest_failures(
    outage: Comparison,
) -> None:
    from eda_lib.viz.simulation import plot_receipts

    figure = plot_receipts(outage)
    assert isinstance(figure, Figure)
    receipts, failures = figure.axes
    assert receipts.get_title(loc="left") == "event-driven: time until each receipt was sent"
    failed = sum(not r.ok for r in outage.rest.records)
    assert (
        failures.get_title(loc="left")
        == f"REST: the {failed} checkouts that failed (one mark each)"
    )
    assert "email down" in [t.get_text() for t in receipts.get_legend().get_texts()]
    sent = sum(r.ok for r in outage.events.records)
    assert len(receipts.collections[0].get_offsets()) == sent
