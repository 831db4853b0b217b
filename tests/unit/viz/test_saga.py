"""Lesson 15's pictures of the two saga shapes and of one order's saga in time."""

from __future__ import annotations

from eda_lib.domain.orders import OrderApproved, OrderCancelled, OrderCreated
from eda_lib.shop.orchestrator import SagaCommand
from eda_lib.viz.saga import draw_saga_shapes, draw_sagas, shown_to_readers


def test_a_reader_shows_pending_then_what_the_order_events_say() -> None:
    created = OrderCreated(order_id="o-1", customer_id="ann", amount=100)
    approved = created.follow_up(OrderApproved, order_id="o-1")
    cancelled = approved.follow_up(OrderCancelled, order_id="o-1", reason="refunded")
    command = created.follow_up(
        SagaCommand, order_id="o-1", step="charge", customer_id="ann", amount=100, currency="USD"
    )
    assert shown_to_readers([command, created, approved, cancelled]) == [
        "",
        "pending",
        "approved",
        "cancelled",
    ]


def test_the_pictures_draw_a_lane_per_service_and_the_orchestrator_only_when_there() -> None:
    shapes = draw_saga_shapes(title="two shapes")
    texts = [t.get_text() for ax in shapes.axes for t in ax.texts]
    assert texts.count("orchestrator") == 1 and texts.count("payments") == 2
    created = OrderCreated(order_id="o-1", customer_id="ann", amount=100)
    approved = created.follow_up(OrderApproved, order_id="o-1")
    chain_only = draw_sagas({"chain": [created, approved]})
    lanes = [t.get_text() for t in chain_only.axes[0].get_yticklabels()]
    assert "orchestrator" not in lanes and "a reader sees" in lanes
    command = created.follow_up(
        SagaCommand, order_id="o-1", step="charge", customer_id="ann", amount=100, currency="USD"
    )
    both = draw_sagas({"chain": [created, approved], "hub": [created, command]}, title="t")
    assert "orchestrator" in [t.get_text() for t in both.axes[1].get_yticklabels()]
