"""Lesson 15's exercise checks pass the solutions, and refuse typical mistakes with the hint
that fits; the recap table names only modules and lessons that exist; the shop's pictures."""

from __future__ import annotations

import uuid

from eda_lib.domain.orders import OrderCancelled, OrderShipped
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.exercises_shop import check_refund, check_unsettled
from eda_lib.recap import RECAP, lesson_file, recap_table
from eda_lib.shop import FLOW, PaymentRefunded, ShipmentFailed, ShopOrders
from eda_lib.viz.shop import draw_orders, draw_shop, shop_graph


def refund(failed: ShipmentFailed, *, stable: bool = True, chained: bool = True) -> PaymentRefunded:
    fields = {
        "payment_id": failed.payment_id,
        "order_id": failed.order_id,
        "amount": failed.amount,
        "currency": failed.currency,
        "reason": f"shipment failed: {failed.reason}",
    }
    if not chained:
        return PaymentRefunded(**fields)
    return failed.follow_up(PaymentRefunded, stable_id=stable, **fields)


def test_the_refund_check_wants_a_chained_stable_refund_of_what_was_paid() -> None:
    assert check_refund(refund)
    unstable = check_refund(lambda f: refund(f, stable=False))
    assert not unstable and "refunded twice" in unstable.message
    loose = check_refund(lambda f: refund(f, chained=False))
    assert not loose and "chain" in loose.message
    halved = check_refund(lambda f: refund(f).revised(amount=f.amount // 2))
    assert not halved and "amount" in halved.message
    assert not check_refund("not a function")
    one_id = uuid.uuid4()
    constant = check_refund(
        lambda f: PaymentRefunded(**{**refund(f).model_dump(exclude={"id"}), "id": one_id})
    )
    assert not constant and "never refunded" in constant.message
    cache: dict[int, PaymentRefunded] = {}  # remembers refunds per object: gone after a restart
    cached = check_refund(lambda f: cache.setdefault(id(f), refund(f, stable=False)))
    assert not cached and "refunded twice" in cached.message


def test_the_unsettled_check_wants_paid_minus_shipped_or_refunded() -> None:
    def solution(events):  # type: ignore[no-untyped-def]
        paid = {e.order_id for e in events if isinstance(e, PaymentSuccessful)}
        done = {e.order_id for e in events if isinstance(e, (OrderShipped, PaymentRefunded))}
        return sorted(paid - done)

    assert check_unsettled(solution)
    every_paid = check_unsettled(
        lambda events: sorted({e.order_id for e in events if isinstance(e, PaymentSuccessful)})
    )
    assert not every_paid and "shipped order is settled" in every_paid.message
    no_refunds = check_unsettled(
        lambda events: sorted(
            {e.order_id for e in events if isinstance(e, PaymentSuccessful)}
            - {e.order_id for e in events if isinstance(e, OrderShipped)}
        )
    )
    assert not no_refunds and "refund settles" in no_refunds.message
    assert not check_unsettled(lambda events: "o-2")
    assert not check_unsettled(lambda events: ["o-2", "o-4", "o-7"])  # written down in advance

    def cancel_settles(events):  # type: ignore[no-untyped-def]
        done = {
            e.order_id
            for e in events
            if isinstance(e, (OrderShipped, PaymentRefunded, OrderCancelled))
        }
        return sorted({e.order_id for e in events if isinstance(e, PaymentSuccessful)} - done)

    wrong = check_unsettled(cancel_settles)
    assert not wrong and "cancelling settles nothing" in wrong.message

    def as_list(events):  # type: ignore[no-untyped-def]
        done = {e.order_id for e in events if isinstance(e, (OrderShipped, PaymentRefunded))}
        return sorted(
            e.order_id
            for e in events
            if isinstance(e, PaymentSuccessful) and e.order_id not in done
        )

    repeated = check_unsettled(as_list)
    assert not repeated and "delivered twice" in repeated.message


def test_the_recap_links_every_lesson_it_names_and_imports_every_module() -> None:
    table = recap_table()
    assert table.count("\n") == len(RECAP) + 1
    for _, number, _ in RECAP:
        assert f"({lesson_file(number)})" in table
    assert table._repr_markdown_() == str(table)


def test_the_flow_graph_has_an_edge_for_every_read_and_write() -> None:
    graph = shop_graph()
    for service, (reads, writes) in FLOW.items():
        assert all(graph.has_edge(topic, service) for topic in reads)
        assert all(graph.has_edge(service, topic) for topic in writes)
    assert draw_shop(down={"shipping"}, lag={"shipping": 3}).axes
    parked = draw_shop(parked={"shop-payments": 4})
    assert "shop-payments.dead-letter\n4 parked" in [t.get_text() for t in parked.axes[0].texts]
    assert draw_orders(ShopOrders()).axes
