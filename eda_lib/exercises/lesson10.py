"""Self-checking exercises of lesson 10 (CQRS in practice): a revenue read model, and a key that
keeps each order's events in order."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import reproducible
from eda_lib.cqrs.projections import Projection, Projector
from eda_lib.domain.order_commands import ApproveOrder, CancelOrder, PlaceOrder, order_bus
from eda_lib.events import Event
from eda_lib.exercises.checks import Check, crashed, fail
from eda_lib.labs.keying import keying_trial, order_history

REFUNDED = 3_000  # o11: c2's order, approved and then cancelled


def check_revenue_projection(projection_class: type[Projection]) -> Check:
    """Lesson 10, exercise 1: a read model whose `revenue` maps each customer to the total
    amount of their approved orders. A cancelled order counts nothing, even one approved before
    it was cancelled; an order never approved counts nothing either."""
    store = order_history(9)  # o0..o8; customers c0, c1, c2; even orders approved, odd cancelled
    # Two orders never approved nor cancelled; one approved, then cancelled (a refund).
    with reproducible(seed=99):
        bus = order_bus(store)
        bus.dispatch(PlaceOrder(order_id="o9", customer_id="c0", amount=5_000))
        bus.dispatch(PlaceOrder(order_id="o10", customer_id="c1", amount=7_000))
        bus.dispatch(PlaceOrder(order_id="o11", customer_id="c2", amount=REFUNDED))
        bus.dispatch(ApproveOrder(order_id="o11"))
        bus.dispatch(CancelOrder(order_id="o11", reason="returned"))
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
    if first == {**expected, "c2": expected["c2"] + REFUNDED}:
        return fail(
            f"revenue is {first}: o11 ({REFUNDED} for c2), approved and then cancelled, "
            "still counts",
            "a cancelled order counts nothing: when an approved order is cancelled, its amount "
            "comes off its customer's revenue again",
        )
    if first != expected:
        return fail(
            f"revenue is {first}, expected {expected}",
            "remember each order's customer and amount on OrderCreated; add on OrderApproved",
        )
    if again != expected:
        return fail(f"after a rebuild, revenue is {again}", "clear() must forget everything")
    try:  # the same view rebuilt from another history, where o0 was never approved
        other = order_history(0)
        with reproducible(seed=98):
            bus = order_bus(other)
            bus.dispatch(PlaceOrder(order_id="o0", customer_id="c0", amount=1_000))
            bus.dispatch(CancelOrder(order_id="o0", reason="changed their mind"))
        Projector(other, view).rebuild(view)
        elsewhere = {k: v for k, v in dict(getattr(view, "revenue", {})).items() if v}
    except Exception as error:
        return crashed(error, "clear() must leave the view as new, ready for any history")
    if elsewhere:
        return fail(
            f"rebuilt from another history, where o0 was placed and cancelled but never "
            f"approved, revenue is {elsewhere}: the view kept what it learned before the rebuild",
            "clear() must forget everything apply remembers (every dict and set), not only revenue",
        )
    return Check(
        True,
        f"revenue per customer {first}, an order approved then cancelled not counted, "
        "the same after a rebuild, and nothing left over when rebuilt from another history",
    )


async def check_key_function(key_for: Callable[[Event], Any]) -> Check:
    """Lesson 10, exercise 2: a key for order events that keeps each order's events in order
    and still spreads the orders over the partitions. `key_for` is the learner's: it may return
    anything, and a key that is not a str (or bytes) is refused before the trial."""
    events = [stored.event for stored in order_history(8).read_all()]  # the trial's events
    try:
        keys = [key_for(event) for event in events]
    except Exception as error:
        return crashed(error, "return the key as a str, such as one of the event's fields")
    for event, key in zip(events, keys, strict=True):
        if key is not None and not isinstance(key, str | bytes):
            return fail(
                f"the key for {event.event_type} of {event.subject} is {key!r}, not a str",
                "return a str (Producer.send encodes it as UTF-8)",
            )
    elsewhere = _keys_in_another_process(key_for, events)
    if elsewhere is not None and elsewhere != keys:
        return fail(
            "your keys change when Python's hash() does: Python salts the hash of a str "
            "differently in every process, so a restarted producer would give the same order "
            "another key, and its next events another partition",
            "use the field's value itself as the key, not its hash()",
        )
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


def _keys_in_another_process(
    key_for: Callable[[Event], Any], events: list[Event]
) -> list[Any] | None:
    """The keys `key_for` gives when hash() is salted otherwise, as in another process: the
    built-in is swapped for one that mixes in another salt, and swapped back."""
    original = builtins.hash
    builtins.hash = lambda value: original(("another process", value))
    try:
        return [key_for(event) for event in events]
    except Exception:  # it ran once already: a failure now is no sign of hash()
        return None
    finally:
        builtins.hash = original
