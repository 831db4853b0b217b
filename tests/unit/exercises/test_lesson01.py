"""Lesson 01's exercise checks: a right answer passes, and typical wrong ones fail saying why."""

from __future__ import annotations

from eda_lib.domain import PaymentSuccessful
from eda_lib.exercises.lesson01 import check_large_payment_flagger, check_state_transfer
from eda_lib.exercises.lesson11 import check_fraud_subscriber
from eda_lib.exercises.lesson12 import check_refusing_handler
from eda_lib.pubsub import BrokerSubscriber


async def test_threshold_checks_catch_a_limit_ten_times_too_small_and_the_boundary() -> None:
    assert await check_large_payment_flagger(lambda e: e.amount >= 100_000)
    assert not await check_large_payment_flagger(lambda e: e.amount >= 10_000)
    assert not await check_large_payment_flagger(lambda e: e.amount > 100_000)
    in_dollars = {"USD": 1.0, "EUR": 1.1, "JPY": 0.0067}  # a conversion the task rules out
    converted = await check_large_payment_flagger(
        lambda e: e.amount * in_dollars[e.currency] >= 100_000
    )
    assert not converted and "no conversion" in converted.message
    assert "yen have none" in converted.message
    dollars_only = await check_large_payment_flagger(
        lambda e: e.currency == "USD" and e.amount >= 100_000
    )
    assert not dollars_only

    async def fraud(threshold: int):  # type: ignore[no-untyped-def]
        async def subscribe(broker, settle):  # type: ignore[no-untyped-def]
            flagged: list[str] = []
            sub = await BrokerSubscriber(broker, start="earliest").subscribe(
                "payment-update",
                "fraud",
                lambda e: flagged.append(e.payment_id) if e.amount > threshold else None,
            )
            await settle(lambda: sub.handled == 5)
            await sub.cancel()
            return flagged

        return await check_fraud_subscriber(subscribe)

    assert await fraud(10_000)
    assert not await fraud(1_000)
    assert not await fraud(9_999)

    def silent(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise ValueError()

    def ten_times_too_strict(event: PaymentSuccessful) -> None:
        if event.amount > 100_000:
            raise ValueError("too much")

    assert "says why" in repr(await check_refusing_handler(silent))
    assert "expected 3 and 2" in repr(await check_refusing_handler(ten_times_too_strict))


def test_state_transfer_check_refuses_call_backs_ids_references_and_wrong_fields() -> None:
    def solution(order):  # type: ignore[no-untyped-def]
        return {"order_id": order["order_id"], "ship_to": order["ship_to"]}

    def from_event(event, get_order):  # type: ignore[no-untyped-def]
        return event["ship_to"]

    assert check_state_transfer(solution, from_event)
    assert check_state_transfer(lambda order: dict(order), from_event)  # a whole copy will do

    def ids_only(order):  # type: ignore[no-untyped-def]
        return {"order_id": order["order_id"]}

    def calls_back(event, get_order):  # type: ignore[no-untyped-def]
        return get_order(event["order_id"])["ship_to"]

    def calls_back_then_falls_back(event, get_order):  # type: ignore[no-untyped-def]
        try:
            return get_order(event["order_id"])["ship_to"]
        except ConnectionError:
            return event["ship_to"]

    notification = check_state_transfer(ids_only, calls_back)
    assert not notification and "called back" in notification.message
    assert not check_state_transfer(solution, calls_back)  # the data is there, and ignored
    assert not check_state_transfer(solution, calls_back_then_falls_back)
    only_ids = check_state_transfer(ids_only, from_event)
    assert not only_ids and "KeyError" in only_ids.message
    assert "put into the event what shipping needs" in only_ids.message

    the_record = check_state_transfer(lambda order: order, from_event)
    assert not the_record and "points at the order service's own dict" in the_record.message
    nested = check_state_transfer(
        lambda order: {"order_id": order["order_id"], "order": order},
        lambda event, get_order: event["order"]["ship_to"],
    )
    assert not nested and "9 Oak Ave" in nested.message
    hard_coded = check_state_transfer(solution, lambda event, get_order: "1 Elm St")
    assert not hard_coded and "order-8" in hard_coded.message

    billing = check_state_transfer(
        lambda order: {"order_id": order["order_id"], "address": order["bill_to"]},
        lambda event, get_order: event["address"],
    )
    assert not billing and "billing address" in billing.message

    class Order:  # an object that is no JSON a broker could carry
        def __init__(self, ship_to: str) -> None:
            self.ship_to = ship_to

    not_json = check_state_transfer(
        lambda order: {"order": Order(order["ship_to"])},
        lambda event, get_order: event["order"].ship_to,
    )
    assert not not_json and "not JSON" in not_json.message
