"""Lesson 09's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.domain.orders import OrderApproved
from eda_lib.exercises.lesson09 import (
    CANCELLATIONS_BY_REASON,
    check_cancellation_query,
    check_retry_on_conflict,
)
from eda_lib.store import ConcurrencyError


def test_retry_on_conflict() -> None:
    def with_retry(orders, order_id):  # type: ignore[no-untyped-def]
        for attempt in (1, 2):  # the notebook's solution
            order = orders.load(order_id)
            order.approve()
            try:
                return orders.save(order)
            except ConcurrencyError:
                if attempt == 2:
                    raise
        return None

    def without_retry(orders, order_id):  # type: ignore[no-untyped-def]
        order = orders.load(order_id)
        order.approve()
        return orders.save(order)

    def over_their_change(orders, order_id):  # type: ignore[no-untyped-def]
        order = orders.load(order_id)
        order.approve()
        try:
            orders.save(order)
        except ConcurrencyError:
            orders.store.append(
                order.stream_id, order.pending_events, orders.store.version(order.stream_id)
            )

    def swallows_it(orders, order_id):  # type: ignore[no-untyped-def]
        order = orders.load(order_id)
        order.approve()
        try:
            return orders.save(order)
        except ConcurrencyError:
            return []

    def loads_again_only(orders, order_id):  # type: ignore[no-untyped-def]
        order = orders.load(order_id)
        order.approve()
        try:
            return orders.save(order)
        except ConcurrencyError:
            return orders.load(order_id)  # no new decision, nothing saved

    def saves_old_decision(orders, order_id):  # type: ignore[no-untyped-def]
        order = orders.load(order_id)
        order.approve()
        try:
            return orders.save(order)
        except ConcurrencyError:
            fresh = orders.load(order_id)
            fresh.record(OrderApproved(order_id=order_id))  # the old decision, on new state
            return orders.save(fresh)

    assert check_retry_on_conflict(with_retry)
    refused = repr(check_retry_on_conflict(loads_again_only))
    assert "did not decide again" in refused

    def swallows_everything(orders, order_id):  # type: ignore[no-untyped-def]
        for _ in range(2):
            try:
                order = orders.load(order_id)
                order.approve()
                return orders.save(order)
            except Exception:
                continue
        return None

    assert "reach the caller" in repr(check_retry_on_conflict(swallows_everything))
    assert "OrderApproved" in repr(check_retry_on_conflict(saves_old_decision))
    assert "escaped" in repr(check_retry_on_conflict(without_retry))
    assert "not loaded again" in repr(check_retry_on_conflict(swallows_it))
    assert "not loaded again" in repr(check_retry_on_conflict(over_their_change))


def test_retry_on_conflict_must_give_up() -> None:
    """A competitor that wins every race: a retry must stop and tell its caller."""

    def retrying(attempts: int, *, gives_up_with: str = "raise"):  # type: ignore[no-untyped-def]
        def approve_with_retry(orders, order_id):  # type: ignore[no-untyped-def]
            for attempt in range(1, attempts + 1):
                order = orders.load(order_id)
                order.approve()
                try:
                    return orders.save(order)
                except ConcurrencyError:
                    if attempt < attempts:
                        continue
                    if gives_up_with == "raise":
                        raise
                    if gives_up_with == "RuntimeError":
                        raise RuntimeError("gave up") from None
            return None

        return approve_with_retry

    def until_it_works(orders, order_id):  # type: ignore[no-untyped-def]
        while True:
            order = orders.load(order_id)
            order.approve()
            try:
                return orders.save(order)
            except ConcurrencyError:
                continue

    def until_anything_works(orders, order_id):  # type: ignore[no-untyped-def]
        while True:
            try:
                order = orders.load(order_id)
                order.approve()
                return orders.save(order)
            except Exception:
                continue

    passed = check_retry_on_conflict(retrying(2))
    assert passed and "gave up after 2 attempts" in passed.message, passed.message
    assert check_retry_on_conflict(retrying(5))  # more than the task's two is still bounded
    refused = check_retry_on_conflict(until_it_works)
    assert not refused and "more than 10 times" in refused.message, refused.message
    assert "for attempt in (1, 2)" in refused.message
    assert "more than 10 times" in check_retry_on_conflict(until_anything_works).message
    silent = check_retry_on_conflict(retrying(2, gives_up_with="return"))
    assert not silent and "returned after 2 attempts as if" in silent.message, silent.message
    other = check_retry_on_conflict(retrying(2, gives_up_with="RuntimeError"))
    assert not other and "raised RuntimeError" in other.message, other.message
    assert "more than 10 times" in check_retry_on_conflict(retrying(11)).message


def test_cancellation_query() -> None:
    assert check_cancellation_query(CANCELLATIONS_BY_REASON)
    unsorted = CANCELLATIONS_BY_REASON.replace(" ORDER BY reason", "")
    assert "ORDER BY" in repr(check_cancellation_query(unsorted))
    assert "refused" in repr(check_cancellation_query("SELECT nonsense FROM nowhere"))
    assert "expected" in repr(check_cancellation_query("SELECT type, count(*) FROM events"))
    by_count = CANCELLATIONS_BY_REASON.replace("ORDER BY reason", "ORDER BY count(*)")
    assert "expected" in check_cancellation_query(by_count).message  # 1, 1, 2, 3: another order
    then_reason = CANCELLATIONS_BY_REASON.replace("ORDER BY reason", "ORDER BY count(*), reason")
    assert "expected" in check_cancellation_query(then_reason).message
    by_type = CANCELLATIONS_BY_REASON.replace("ORDER BY reason", "ORDER BY type")
    assert "sorts by type, not by the reason" in check_cancellation_query(by_type).message
    in_a_comment = CANCELLATIONS_BY_REASON.replace("ORDER BY reason", "-- ORDER BY reason")
    assert "does not ask for it" in check_cancellation_query(in_a_comment).message
    no_filter = CANCELLATIONS_BY_REASON.replace("WHERE type = 'OrderCancelled' ", "")
    assert "expected" in check_cancellation_query(no_filter).message  # the approved order: None
    descending = CANCELLATIONS_BY_REASON + " DESC"
    assert "expected" in check_cancellation_query(descending).message
    quoted = ('ORDER BY "reason"', "ORDER BY [reason]", "ORDER BY reason COLLATE NOCASE")
    for right in (
        *quoted,
        "ORDER BY 1",
        "order  by  reason ASC",
        "ORDER BY json_extract(data, '$.data.reason')",
    ):
        assert check_cancellation_query(CANCELLATIONS_BY_REASON.replace("ORDER BY reason", right))
