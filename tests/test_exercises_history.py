"""The checks of lessons 05, 07, 08, 09 and 10 pass a right answer and fail each wrong one with a
hint."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest

from eda_lib.codecs import decode_message
from eda_lib.cqrs import Projection
from eda_lib.domain import (
    BankAccount,
    MoneyDeposited,
    MoneyWithdrawn,
    OrderApproved,
    OrderCancelled,
    OrderCreated,
    PaymentSuccessful,
)
from eda_lib.events import Event
from eda_lib.exercises_history import (
    CANCELLATIONS_BY_REASON,
    check_biggest_withdrawal,
    check_cancellation_query,
    check_deposit_limit,
    check_key_function,
    check_retry_on_conflict,
    check_revenue_projection,
)
from eda_lib.sourcing import RuleBroken
from eda_lib.store import ConcurrencyError


class CappedAccount(BankAccount):
    def deposit(self, amount: int) -> None:
        if amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().deposit(amount)


class Uncapped(BankAccount):
    pass


class CapsAfterRecording(BankAccount):
    def deposit(self, amount: int) -> None:
        super().deposit(amount)
        if amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")


class RuleInApply(BankAccount):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyDeposited) and event.amount > 1_000_000:
            raise RuleBroken("too much", fix="split it")
        super().apply(event)


class RefusesWithValueError(BankAccount):
    def deposit(self, amount: int) -> None:
        if amount > 1_000_000:
            raise ValueError("too much")
        super().deposit(amount)


def test_deposit_limit() -> None:
    assert check_deposit_limit(CappedAccount)
    assert "accepted" in repr(check_deposit_limit(Uncapped))
    assert "changed the account" in repr(check_deposit_limit(CapsAfterRecording))
    assert "belongs in the command" in repr(check_deposit_limit(RuleInApply))
    assert "raised ValueError" in repr(check_deposit_limit(RefusesWithValueError))
    assert not check_deposit_limit(int)


class Biggest(Projection):
    def __init__(self) -> None:
        super().__init__()
        self.biggest: dict[str, int] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            previous = self.biggest.get(event.account_id, 0)
            self.biggest[event.account_id] = max(previous, event.amount)

    def clear(self) -> None:
        self.biggest.clear()


class LastNotBiggest(Biggest):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            self.biggest[event.account_id] = event.amount


class FirstNotBiggest(Biggest):
    def apply(self, event: Event) -> None:
        if isinstance(event, MoneyWithdrawn):
            self.biggest.setdefault(event.account_id, event.amount)


class NeverCleared(Biggest):
    def clear(self) -> None:
        pass


class CrashesOnOtherEvents(Biggest):
    def apply(self, event: Event) -> None:
        self.biggest[event.account_id] = event.amount  # type: ignore[attr-defined]


def test_biggest_withdrawal() -> None:
    assert check_biggest_withdrawal(Biggest)
    assert "expected" in repr(check_biggest_withdrawal(LastNotBiggest))
    assert "expected" in repr(check_biggest_withdrawal(FirstNotBiggest))
    assert "only account c" in repr(check_biggest_withdrawal(NeverCleared))
    assert "abstract method" in repr(check_biggest_withdrawal(Projection))
    assert not check_biggest_withdrawal(CrashesOnOtherEvents)


def test_retry_on_conflict() -> None:
    def with_retry(orders, order_id):  # type: ignore[no-untyped-def]
        for _ in range(2):
            order = orders.load(order_id)
            order.approve()
            try:
                return orders.save(order)
            except ConcurrencyError:
                continue
        raise AssertionError

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

    assert check_retry_on_conflict(with_retry)
    assert "escaped" in repr(check_retry_on_conflict(without_retry))
    assert "not loaded again" in repr(check_retry_on_conflict(swallows_it))
    assert "not loaded again" in repr(check_retry_on_conflict(over_their_change))


def test_cancellation_query() -> None:
    assert check_cancellation_query(CANCELLATIONS_BY_REASON)
    assert "refused" in repr(check_cancellation_query("SELECT nonsense FROM nowhere"))
    assert "expected" in repr(check_cancellation_query("SELECT type, count(*) FROM events"))


class Revenue(Projection):
    def __init__(self) -> None:
        super().__init__()
        self.revenue: dict[str, int] = {}
        self.orders: dict[str, tuple[str, int]] = {}

    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
        elif isinstance(event, OrderApproved):
            customer, amount = self.orders[event.order_id]
            self.revenue[customer] = self.revenue.get(customer, 0) + amount

    def clear(self) -> None:
        self.revenue.clear()
        self.orders.clear()


class CountsEverything(Revenue):
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.revenue[event.customer_id] = self.revenue.get(event.customer_id, 0) + event.amount


class PlacedMinusCancelled(Revenue):
    def apply(self, event: Event) -> None:
        if isinstance(event, OrderCreated):
            self.orders[event.order_id] = (event.customer_id, event.amount)
            self.revenue[event.customer_id] = self.revenue.get(event.customer_id, 0) + event.amount
        elif isinstance(event, OrderCancelled):
            customer, amount = self.orders[event.order_id]
            self.revenue[customer] -= amount


def test_revenue_projection() -> None:
    assert check_revenue_projection(Revenue)
    assert "expected" in repr(check_revenue_projection(CountsEverything))
    assert "expected" in repr(check_revenue_projection(PlacedMinusCancelled))


async def test_key_function() -> None:
    assert await check_key_function(lambda event: event.subject)
    by_type = await check_key_function(lambda event: event.event_type)
    assert "wrong for" in repr(by_type)
    one_key = await check_key_function(lambda event: "all")
    assert "one consumer does it all" in repr(one_key)
    random_key = await check_key_function(lambda event: str(event.id))
    assert "different partitions" in repr(random_key)
    not_text = await check_key_function(lambda event: event.id)
    assert "raised" in repr(not_text)


# --- lesson 08's code-writing exercises ------------------------------------------------------


async def test_order_collector() -> None:
    from eda_lib import Consumer
    from eda_lib.exercises_messaging import check_order_collector

    async def right(broker):  # type: ignore[no-untyped-def]
        seen: dict[str, list[str]] = {}

        def note(event: Event) -> None:
            seen.setdefault(event.order_id, []).append(event.event_type)  # type: ignore[attr-defined]

        async with Consumer(broker, "collector", "orders", note) as consumer:
            await consumer.run(max_events=6, timeout=5)
        return seen

    async def never_commits(broker):  # type: ignore[no-untyped-def]
        await broker.join("collector", ["orders"], member="m")
        seen: dict[str, list[str]] = {}
        for _ in range(3):
            for record in (await broker.poll("collector", "m", max_records=10)).records:
                event = decode_message(record.value, record.headers)
                seen.setdefault(event.order_id, []).append(event.event_type)
        await broker.leave("collector", "m")
        return seen

    async def reads_one_partition(broker):  # type: ignore[no-untyped-def]
        records = await broker.read("orders", 0)
        return {"order-1": [len(records)]}

    assert await check_order_collector(right)
    assert "expected" in repr(await check_order_collector(reads_one_partition))
    assert "not committed" in repr(await check_order_collector(never_commits))


def test_type_header() -> None:
    from eda_lib.exercises_messaging import check_type_header

    def right(record):  # type: ignore[no-untyped-def]
        return dict(record.headers)["ce_type"].decode()

    def from_the_value(record):  # type: ignore[no-untyped-def]
        return record.value.decode()

    assert check_type_header(right)
    assert "raised" in repr(check_type_header(lambda record: record.headers["ce_type"]))
    assert "got" in repr(check_type_header(from_the_value))


# --- lesson 07's code-writing exercises ------------------------------------------------------


def test_careful_worker() -> None:
    from eda_lib.exercises_messaging import check_careful_worker

    def right(queue, handle):  # type: ignore[no-untyped-def]
        for _ in range(20):
            message = queue.get("careful")
            if message is None:
                return
            try:
                handle(message.body)
            except TimeoutError:
                queue.nack(message)
            else:
                queue.ack(message)

    def acks_even_failures(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("careless")) is not None:
            with contextlib.suppress(TimeoutError):
                handle(message.body)
            queue.ack(message)

    def keeps_the_failure(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("hoarder")) is not None:
            try:
                handle(message.body)
                queue.ack(message)
            except TimeoutError:
                pass

    def stops_at_the_failure(queue, handle):  # type: ignore[no-untyped-def]
        while (message := queue.get("brittle")) is not None:
            handle(message.body)
            queue.ack(message)

    assert check_careful_worker(right)
    assert "acked 5" in repr(check_careful_worker(acks_even_failures))
    assert "still held" in repr(check_careful_worker(keeps_the_failure))
    assert "raised TimeoutError" in repr(check_careful_worker(stops_at_the_failure))


async def test_latest_auditor() -> None:
    from eda_lib import Consumer
    from eda_lib.exercises_messaging import check_latest_auditor

    def latest(broker, seen):  # type: ignore[no-untyped-def]
        return Consumer(
            broker, "audit-new", "payments", lambda e: seen.append(e.payment_id), start="latest"
        )

    def earliest(broker, seen):  # type: ignore[no-untyped-def]
        return Consumer(broker, "audit-all", "payments", lambda e: seen.append(e.payment_id))

    assert await check_latest_auditor(latest)
    assert "the auditor saw" in repr(await check_latest_auditor(earliest))
    assert "raised" in repr(await check_latest_auditor(lambda broker, seen: None))


async def test_auditing_publisher() -> None:
    from eda_lib.exercises_messaging import check_auditing_publisher

    class Right:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner, self.published = inner, []

        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            report = await self.inner.publish(topic, event)
            self.published.append(event.id)
            return report

    class Swallows(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            self.published.append(event.id)

    class Forgets(Right):
        async def publish(self, topic, event):  # type: ignore[no-untyped-def]
            return await self.inner.publish(topic, event)

    assert await check_auditing_publisher(Right)
    assert "0 of 3" in repr(await check_auditing_publisher(Swallows))
    assert "ids" in repr(await check_auditing_publisher(Forgets))


def test_award_once() -> None:
    from eda_lib.exercises_messaging import check_award_once

    def once(points):  # type: ignore[no-untyped-def]
        seen = set()

        def award(event):  # type: ignore[no-untyped-def]
            if event.id not in seen:
                seen.add(event.id)
                points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    def every_time(points):  # type: ignore[no-untyped-def]
        def award(event):  # type: ignore[no-untyped-def]
            points[event.order_id] = points.get(event.order_id, 0) + event.amount // 100

        return award

    assert check_award_once(once)
    assert "repeats" in repr(check_award_once(every_time))
    assert "raised" in repr(check_award_once(lambda points: None))


async def test_scaling_stops_where_the_partitions_end() -> None:
    from eda_lib.brokers import partition_for_key
    from eda_lib.labs import scale_out

    sizes = Counter(partition_for_key(f"order-{n}".encode(), 4) for n in range(48))
    runs = {m: await scale_out(m, partitions=4, events=48) for m in (1, 4, 5)}
    assert runs[1].handled_by == {"packer-1": 48}
    assert sorted(runs[4].handled_by.values()) == sorted(sizes.values())  # one partition each
    assert runs[5].idle == 1 and sorted(runs[5].handled_by.values())[1:] == sorted(sizes.values())
    assert runs[4].drain_seconds == pytest.approx(max(sizes.values()) * 0.1)
    assert runs[5].events_per_second == pytest.approx(runs[4].events_per_second)


async def test_refusing_handler() -> None:
    from eda_lib.exercises_messaging import check_refusing_handler

    def right(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise ValueError(f"{event.money} is over our limit")

    def refuses_nothing(event: PaymentSuccessful) -> None:
        pass

    def wrong_error(event: PaymentSuccessful) -> None:
        if event.amount > 1_000_000:
            raise RuntimeError("no")

    assert await check_refusing_handler(right)
    assert "5 shipped and 0" in repr(await check_refusing_handler(refuses_nothing))
    assert "raise a ValueError" in repr(await check_refusing_handler(wrong_error))


async def test_first_publish() -> None:
    from eda_lib.exercises_messaging import check_first_publish

    async def right(producer):  # type: ignore[no-untyped-def]
        return await producer.send(
            "payments",
            PaymentSuccessful(payment_id="pay-3", order_id="order-3", amount=4200, currency="usd"),
        )

    async def in_units(producer):  # type: ignore[no-untyped-def]
        return await producer.send(
            "payments",
            PaymentSuccessful(payment_id="pay-3", order_id="order-3", amount=42, currency="usd"),
        )

    async def forgets(producer):  # type: ignore[no-untyped-def]
        return None

    assert await check_first_publish(right)
    assert "4200 minor units" in repr(await check_first_publish(in_units))
    assert "0 events" in repr(await check_first_publish(forgets))


async def test_threshold_checks_catch_a_limit_ten_times_too_small_and_the_boundary() -> None:
    from eda_lib.exercises import check_fraud_subscriber, check_large_payment_flagger
    from eda_lib.exercises_messaging import check_refusing_handler

    assert await check_large_payment_flagger(lambda e: e.amount >= 100_000)
    assert not await check_large_payment_flagger(lambda e: e.amount >= 10_000)
    assert not await check_large_payment_flagger(lambda e: e.amount > 100_000)

    async def fraud(threshold: int):  # type: ignore[no-untyped-def]
        async def subscribe(subscriber, settle):  # type: ignore[no-untyped-def]
            flagged: list[str] = []
            sub = await subscriber.subscribe(
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
