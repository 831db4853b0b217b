"""Self-checking exercises of lesson 10 (CQRS in practice): a revenue read model, and a key that
keeps each order's events in order."""

from __future__ import annotations

from collections.abc import Callable

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import reproducible
from eda_lib.cqrs.projections import Projection, Projector
from eda_lib.domain.order_commands import PlaceOrder, order_bus
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.labs.keying import keying_trial, order_history


def check_revenue_projection(projection_class: type[Projection]) -> Check:
    """Lesson 10, exercise 1: a read model whose `revenue` maps each customer to the total
    amount of their approved orders (cancelled or unapproved orders count nothing)."""
    store = order_history(9)  # o0..o8; customers c0, c1, c2; even orders approved, odd cancelled
    with reproducible(seed=99):  # and two orders that are never approved nor cancelled
        bus = order_bus(store)
        bus.dispatch(PlaceOrder(order_id="o9", customer_id="c0", amount=5_000))
        bus.dispatch(PlaceOrder(order_id="o10", customer_id="c1", amount=7_000))
    expected: dict[str, int] = {}
    for n in range(0, 9, 2):
        expected[f"c{n % 3}"] = expected.get(f"c{n % 3}", 0) + 1_000 + n
    try:
        view = projection_class()
        Projector(store, view).catch_up()
        first = {k: v for k, v in dict(getattr(view, "revenue", {})).items() if v}
        Projector(store, view).rebuild(view)
        again = {k: v for k, v in dict(getattr(view, "revenue", {})).items() if v}
    except TypeError as error:
        if "abstract" not in str(error):
            return crashed(error, "apply gets every kind of event: act only on the ones you need")
        return fail(str(error), "define apply(self, event) and clear(self)")
    except Exception as error:
        return crashed(error, "apply gets every kind of order event")
    if first != expected:
        return fail(
            f"revenue is {first}, expected {expected}",
            "remember each order's customer and amount on OrderCreated; add on OrderApproved",
        )
    if again != expected:
        return fail(f"after a rebuild, revenue is {again}", "clear() must forget everything")
    return Check(True, f"revenue per customer {first}, the same after a rebuild")


async def check_key_function(key_for: Callable[[Event], str | None]) -> Check:
    """Lesson 10, exercise 2: a key for order events that keeps each order's events in order
    and still spreads the orders over the partitions."""
    try:
        async with InMemoryBroker() as broker:
            trial = await keying_trial(broker, key_for, orders=8)
    except Exception as error:
        return crashed(error, "return the key as a str, such as one of the event's fields")
    if trial.wrong:
        return fail(
            f"the read model is wrong for {trial.wrong}",
            "one order's events must share a key, so they share a partition",
        )
    split = sorted(o for o, partitions in trial.partitions.items() if len(set(partitions)) > 1)
    if split:
        return fail(
            f"the events of {split} went to different partitions (the read model was lucky)",
            "one order's events must share a key, so they share a partition",
        )
    used = {p for partitions in trial.partitions.values() for p in partitions}
    if len(used) < 2:
        return fail(
            f"every event went to partition {used.pop()}: right, but one consumer does it all",
            "a key per order spreads orders over partitions and keeps each one's order",
        )
    return Check(True, f"all 8 orders right, spread over partitions {sorted(used)}")
