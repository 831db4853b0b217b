"""Consumer behaviour a learner relies on, on the in-memory broker."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from eda_lib import (
    BrokerUnavailable,
    CommitFailed,
    Consumer,
    Event,
    HandlerError,
    InMemoryBroker,
    PaymentFailed,
    PaymentSuccessful,
    Producer,
    TopicPartition,
)
from eda_lib.brokers import partition_for_key
from eda_lib.messaging import ConsumerBusy, ConsumerNotRunning
from tests.contract.broker import payment


async def test_runs_are_bounded_by_count_idle_or_timeout(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    for i in range(10):
        await producer.send("payments", payment(i))
    consumer = Consumer(
        broker, "g", "payments", lambda e: None, name="m", batch_size=4, start="earliest"
    )
    await consumer.start()
    first = await consumer.run(max_events=3)
    assert (first.processed, first.stopped_because) == (3, "max_events")
    rest = await consumer.run()
    assert (rest.processed, rest.stopped_because) == (7, "idle")
    waited = await consumer.run(timeout=0.05)
    assert (waited.processed, waited.stopped_because) == (0, "timeout")


async def test_a_consumer_waits_for_events_produced_while_it_runs(broker: InMemoryBroker) -> None:
    seen: list[str] = []
    consumer = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="m", start="earliest"
    )
    await consumer.start()

    async def publish_later() -> None:
        await asyncio.sleep(0.01)
        await Producer(broker).send("payments", payment(7))

    report, _ = await asyncio.gather(consumer.run(max_events=1, timeout=5), publish_later())
    assert seen == ["pay-7"] and report.stopped_because == "max_events"


async def test_a_failing_handler_dead_letters_the_event_and_keeps_going(
    broker: InMemoryBroker,
) -> None:
    producer = Producer(broker)
    for i in range(4):
        await producer.send("payments", payment(i, order="o"))
    handled: list[int] = []

    def refuse_odd(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        if event.amount % 2:
            raise RuntimeError(f"cannot ship {event.payment_id}")
        handled.append(event.amount)

    consumer = Consumer(broker, "shipping", "payments", refuse_odd, name="m", start="earliest")
    await consumer.start()
    report = await consumer.run()
    assert handled == [100, 102]
    assert report.dead_lettered == 2
    dead = await broker.read("payments.dead-letter", 0)
    assert [r.header("dlt-reason") for r in dead] == [b"handler_error"] * 2
    assert dead[0].header("dlt-error") == b"RuntimeError: cannot ship pay-1"
    assert dead[0].header("dlt-group") == b"shipping"
    failed = broker.trace.select("failed")
    assert [h.event_type for h in failed] == ["PaymentSuccessful"] * 2


async def test_a_member_that_stops_mid_batch_loses_nothing(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    for i in range(9):
        await producer.send("payments", payment(i, order="one-order"))
    seen: list[str] = []
    first: Consumer

    async def handle_then_stop_at_the_fourth(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        seen.append(event.payment_id)
        if len(seen) == 4:
            await first.stop()  # five more of its batch are still pending, uncommitted

    first = Consumer(
        broker, "g", "payments", handle_then_stop_at_the_fourth, name="a", start="earliest"
    )
    await first.start()
    report = await first.run()
    assert (report.processed, report.stopped_because) == (4, "stopped")
    second = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="b", start="earliest"
    )
    await second.start()
    await second.run()
    # The fourth was handled but its commit came after a had left: b handles it again.
    assert seen == [f"pay-{i}" for i in range(4)] + [f"pay-{i}" for i in range(3, 9)]


async def test_a_rebalance_mid_batch_does_not_handle_twice(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    for i in range(30):
        await producer.send("payments", payment(i), key=None)
    seen: list[str] = []
    b = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="b", start="earliest"
    )

    async def handle_and_let_b_join(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        seen.append(event.payment_id)
        if len(seen) == 2:
            await b.start()  # the group rebalances while `a` holds the rest of its batch

    a = Consumer(
        broker, "g", "payments", handle_and_let_b_join, name="a", batch_size=30, start="earliest"
    )
    await a.start()
    await a.run()
    await b.run()
    assert set(seen) == {f"pay-{i}" for i in range(30)}
    # Only the event in the handler when the group rebalanced can come twice, and only if
    # its partition moved to b (a's commit is then refused; b starts from the last commit).
    assert len(seen) - 30 <= 1
    assert len(broker.trace.select("rebalanced")) == 2


async def test_run_before_start_says_what_to_do(broker: InMemoryBroker) -> None:
    consumer = Consumer(broker, "g", "payments", lambda e: None, start="earliest")
    with pytest.raises(RuntimeError, match=r"consumer\.start"):
        await consumer.run()


async def test_an_event_that_cannot_be_read_names_its_reason(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    event = PaymentFailed(
        payment_id="p", order_id="o", amount=1, currency="USD", reason="card_declined"
    )
    report = await producer.send("payments", event)
    bad = (await broker.read("payments", report.partition))[0].value.replace(
        b'"PaymentFailed"', b'"PaymentTeleported"'
    )
    await broker.produce("payments", bad, key=b"o")
    consumer = Consumer(broker, "g", "payments", lambda e: None, name="m", start="earliest")
    await consumer.start()
    await consumer.run()
    [dead] = await broker.read("payments.dead-letter", 0)
    assert dead.header("dlt-reason") == b"unknown_type"
    assert b"PaymentTeleported" in (dead.header("dlt-error") or b"")


async def test_batch_commits_once_per_poll_and_loses_nothing(broker: InMemoryBroker) -> None:
    producer = Producer(broker)
    for i in range(10):
        await producer.send("payments", payment(i, order="one"))
    consumer = Consumer(
        broker, "g", "payments", lambda e: None,
        name="m", batch_size=4, commit="batch", start="earliest"
    )
    await consumer.start()
    await consumer.run()
    commits = broker.trace.select("committed", group="g")
    assert [h.offset for h in commits] == [4, 8, 10]
    assert (await broker.describe()).group("g").total_lag == 0
    with pytest.raises(ValueError, match="'each', 'batch' or 'before'"):
        Consumer(broker, "g", "payments", lambda e: None, commit="sometimes", start="earliest")  # type: ignore[arg-type]


async def _ten_payments_on(broker: InMemoryBroker, partition: int) -> None:
    """Topic 't' with 2 partitions, and ten payments all keyed onto `partition`."""
    await broker.create_topic("t", partitions=2)
    key = next(f"o{i}" for i in range(100) if partition_for_key(f"o{i}".encode(), 2) == partition)
    for i in range(10):
        await Producer(broker).send("t", payment(i, key))


async def _commit_offsets(broker: InMemoryBroker, partition: int) -> list[int]:
    return [h.offset for h in broker.trace.select("committed") if h.partition == partition]


@pytest.mark.parametrize("commit", ["each", "batch"])
async def test_a_partition_that_comes_back_never_takes_the_offset_back(
    broker: InMemoryBroker, commit: str
) -> None:
    await _ten_payments_on(broker, partition=1)
    handled: list[str] = []
    b = Consumer(
        broker, "g", "t", lambda e: handled.append(e.payment_id), name="b", start="earliest"
    )

    async def slow_first(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        handled.append(event.payment_id)
        if len(handled) == 1:  # while a awaits, b takes partition 1, drains it and leaves
            await b.start()
            await b.run()
            await b.stop()

    a = Consumer(broker, "g", "t", slow_first, name="a", commit=commit, start="earliest")  # type: ignore[arg-type]
    await a.start()
    await a.run()
    offsets = await _commit_offsets(broker, 1)
    assert offsets == sorted(offsets) and offsets[-1] == 10
    assert (await broker.describe()).group("g").total_lag == 0
    # "each": pay-0 twice (a was handling it when the partition moved); a's next commit is
    # refused, and it drops what it still held. "batch": a handles the rest of its polled batch
    # too, as a Kafka client handles what a poll returned, and learns of the move only when
    # its commit is refused: pay-1..9 twice as well. At least once, either way.
    assert len(handled) == {"each": 11, "batch": 20}[commit]
    assert sorted(set(handled)) == sorted(f"pay-{i}" for i in range(10))


@pytest.mark.parametrize("commit", ["each", "batch"])
async def test_a_member_that_keeps_its_partition_through_a_rebalance_repeats_nothing(
    broker: InMemoryBroker, commit: str
) -> None:
    await _ten_payments_on(broker, partition=0)
    handled: list[str] = []
    other = Consumer(broker, "g", "t", lambda e: None, name="z", start="earliest")

    async def let_z_join_at_the_fifth(event: Event) -> None:
        assert isinstance(event, PaymentSuccessful)
        handled.append(event.payment_id)
        if len(handled) == 5:
            await other.start()  # a keeps partition 0, z gets partition 1

    a = Consumer(
        broker, "g", "t", let_z_join_at_the_fifth, name="a", commit=commit, start="earliest"
    )  # type: ignore[arg-type]
    await a.start()
    await a.run()
    assert handled == [f"pay-{i}" for i in range(10)]


async def test_stop_while_running_ends_the_run_cleanly(broker: InMemoryBroker) -> None:
    consumer = Consumer(broker, "g", "payments", lambda e: None, name="m", start="earliest")
    await consumer.start()
    waiting = asyncio.create_task(consumer.run(timeout=5))
    await asyncio.sleep(0.05)
    await consumer.stop()
    report = await waiting
    assert report.stopped_because == "stopped"


async def test_an_unbounded_run_is_refused(broker: InMemoryBroker) -> None:
    consumer = Consumer(broker, "g", "payments", lambda e: None, name="m", start="earliest")
    await consumer.start()
    with pytest.raises(ValueError, match="never end"):
        await consumer.run(until_idle=False)


@pytest.mark.parametrize(
    "value",
    [
        b"[" * 200_000,
        b'{"specversion":"1.0","id":"x","source":"s","type":"\\ud800","time":"t","data":{}}',
        b'{"specversion":"1.0","id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","source":"/s",'
        b'"type":"PaymentSuccessful","time":"0001-01-01T00:00:00+01:00","data":{}}',
    ],
)
async def test_records_that_break_the_decoder_are_dead_lettered(
    broker: InMemoryBroker, value: bytes
) -> None:
    await broker.produce("payments", value, key=b"k")
    await Producer(broker).send("payments", payment(1, order="k"))
    seen: list[str] = []
    consumer = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="m", start="earliest"
    )
    await consumer.start()
    report = await consumer.run()
    assert (report.dead_lettered, seen) == (1, ["pay-1"])
    [dead] = await broker.read("payments.dead-letter", 0)
    assert dead.value == value


async def test_a_consumer_replays_after_seeking_back(broker: InMemoryBroker) -> None:
    for i in range(6):
        await Producer(broker).send("payments", payment(i, order="one"))
    seen: list[str] = []
    consumer = Consumer(
        broker, "g", "payments", lambda e: seen.append(e.payment_id), name="m", start="earliest"
    )
    await consumer.start()
    await consumer.run()
    [partition] = [
        tp for tp in await consumer.assignment() if (await broker.read(tp.topic, tp.partition))
    ]
    await consumer.seek(partition, 4)
    await consumer.run()
    assert seen == [f"pay-{i}" for i in range(6)] + ["pay-4", "pay-5"]


async def test_async_with_joins_and_always_leaves(broker: InMemoryBroker) -> None:
    async with Producer(broker, "payment-service") as producer:
        await producer.send("payments", payment(1))
    seen: list[str] = []

    def ship(event: PaymentSuccessful) -> None:
        seen.append(event.payment_id)

    with pytest.raises(RuntimeError, match="a failing cell"):
        async with Consumer(broker, "g", "payments", ship, name="m", start="earliest") as consumer:
            assert consumer.running
            await consumer.run()
            raise RuntimeError("a failing cell, or a failing assertion in a test")
    assert not consumer.running and seen == ["pay-1"]
    assert (await broker.describe()).group("g").members == {}  # it left its group anyway


async def test_async_for_yields_events_and_commits_each_when_the_next_is_asked(
    broker: InMemoryBroker,
) -> None:
    producer = Producer(broker)
    await producer.send_all("payments", [payment(i, order="one") for i in range(5)])
    await broker.produce("payments", b"not an event", key=b"one")
    async with Consumer(broker, "g", "payments", name="m", start="earliest") as consumer:
        got = [event.payment_id async for event in consumer.events(max_events=3)]
        assert got == ["pay-0", "pay-1", "pay-2"]
        assert (await broker.describe()).group("g").total_lag == 3  # all three committed
        async for event in consumer.events():
            assert event.payment_id == "pay-3"
            break  # left early: pay-3 was not committed, so it comes again
    assert (await broker.describe()).group("g").total_lag == 3
    async with Consumer(broker, "g", "payments", name="m2", start="earliest") as again:
        rest = [event.payment_id async for event in again.events()]
    assert rest == ["pay-3", "pay-4"]  # and the unreadable record went to the dead letters
    assert (await broker.describe()).group("g").total_lag == 0
    [dead] = await broker.read("payments.dead-letter", 0)
    assert dead.header("dlt-reason") == b"not_json"


async def test_misuse_of_a_consumer_is_refused_with_a_fix(broker: InMemoryBroker) -> None:
    idle = Consumer(broker, "g", "payments", lambda e: None, name="m", start="earliest")
    with pytest.raises(ConsumerNotRunning, match=r"Fix: `await consumer\.start\(\)`"):
        await idle.run()
    async with Consumer(broker, "g", "payments", name="n", start="earliest") as without_handlers:
        with pytest.raises(HandlerError, match=r"no handlers.*events\(\)"):
            await without_handlers.run()
    in_first_run, release = asyncio.Event(), asyncio.Event()

    async def hold(event: Event) -> None:  # the first run's handler: says so, then waits
        in_first_run.set()
        await release.wait()

    async with Consumer(broker, "g2", "payments", hold, name="b", start="earliest") as busy:
        await Producer(broker).send("payments", payment(1))
        first = asyncio.create_task(busy.run(max_events=1))
        await in_first_run.wait()  # the first run is under way, inside its handler
        try:
            with pytest.raises(ConsumerBusy, match="already in a run"):
                await busy.run()
        finally:
            release.set()
        await first


async def test_at_most_once_skips_a_record_whose_early_commit_was_refused(
    broker: InMemoryBroker,
) -> None:
    await Producer(broker).send_all("payments", [payment(i, order="one") for i in range(3)])
    handled: list[str] = []
    consumer = Consumer(
        broker, "g", "payments",
        lambda e: handled.append(e.payment_id), name="m", commit="before", start="earliest"
    )
    real_commit, refused = broker.commit, []

    async def refuse_the_commit_past_pay_1(
        group: str, member: str, offsets: dict[TopicPartition, int], *, generation: int | None
    ) -> None:
        if not refused and 2 in offsets.values():  # as if the partition moved during the call
            refused.append(offsets)
            raise CommitFailed(group, member, next(iter(offsets)))
        await real_commit(group, member, offsets, generation=generation)

    broker.commit = refuse_the_commit_past_pay_1  # type: ignore[method-assign]
    async with consumer:
        await consumer.run()
    assert handled == ["pay-0"] and refused  # not pay-1: the next owner will handle it
    async with Consumer(
        broker, "g", "payments",
        lambda e: handled.append(e.payment_id), name="next-owner", start="earliest"
    ) as next_owner:
        await next_owner.run()
    assert handled == ["pay-0", "pay-1", "pay-2"]  # each exactly once


async def test_an_event_left_in_hand_on_a_partition_that_moved_goes_to_its_new_owner(
    broker: InMemoryBroker,
) -> None:
    await broker.create_topic("t", partitions=2)
    key = next(f"o{i}" for i in range(100) if partition_for_key(f"o{i}".encode(), 2) == 1)
    await Producer(broker).send_all("t", [payment(i, order=key) for i in range(3)])
    a = Consumer(broker, "g", "t", name="a", start="earliest")
    await a.start()
    async for held in a.events():  # noqa: B007  # a leaves its loop with pay-0 in hand
        break
    seen_by_b: list[str] = []
    async with Consumer(
        broker, "g", "t", lambda e: seen_by_b.append(e.payment_id), name="b", start="earliest"
    ):
        assert [str(tp) for tp in await a.assignment()] == ["t[0]"]  # t[1] moved to b
        assert [event async for event in a.events()] == []  # no seek on a partition it lost
        await a.stop()
    async with Consumer(
        broker, "g", "t", lambda e: seen_by_b.append(e.payment_id), name="b2", start="earliest"
    ) as b:
        await b.run()
    assert held.payment_id == "pay-0" and sorted(seen_by_b) == ["pay-0", "pay-1", "pay-2"]


async def test_an_event_left_unfinished_by_a_loop_comes_again(broker: InMemoryBroker) -> None:
    await Producer(broker).send_all("payments", [payment(i, order="one") for i in range(4)])
    handled: list[str] = []
    async with Consumer(broker, "g", "payments", name="m", start="earliest") as consumer:
        with pytest.raises(ValueError, match="pay-1"):
            async for event in consumer.events():
                if event.payment_id == "pay-1":
                    raise ValueError(f"{event.payment_id} failed in the loop body")
                handled.append(event.payment_id)
        async for event in consumer.events():  # the same consumer, a new loop
            handled.append(event.payment_id)
    assert handled == ["pay-0", "pay-1", "pay-2", "pay-3"]  # pay-1 came again, nothing lost
    assert (await broker.describe()).group("g").total_lag == 0


async def test_a_consumer_leaves_its_group_even_if_its_last_commit_fails(
    broker: InMemoryBroker,
) -> None:
    await Producer(broker).send_all("payments", [payment(i, order="one") for i in range(2)])
    consumer = Consumer(broker, "g", "payments", name="m", commit="batch", start="earliest")

    async def broker_down(*args: object, **kwargs: object) -> None:
        raise BrokerUnavailable("the broker is down")

    with pytest.raises(BrokerUnavailable):
        async with consumer:
            async for event in consumer.events():
                if event.payment_id == "pay-1":  # pay-0 is done and waits for its batch commit
                    broker.commit = broker_down  # type: ignore[method-assign]
                    break
    assert not consumer.running
    assert (await broker.describe()).group("g").members == {}


async def test_a_subclass_of_the_broker_may_override_commit() -> None:
    class CountingBroker(InMemoryBroker):
        commits = 0

        async def commit(
            self,
            group: str,
            member: str,
            offsets: Mapping[TopicPartition, int],
            *,
            generation: int | None = None,
        ) -> None:
            self.commits += 1
            await super().commit(group, member, offsets, generation=generation)

    broker = CountingBroker()
    await broker.create_topic("payments")
    await Producer(broker).send("payments", payment(1))
    async with Consumer(broker, "g", "payments", lambda e: None, start="earliest") as consumer:
        await consumer.run()
    assert broker.commits == 1


async def test_run_and_an_events_loop_leave_the_same_trace(broker: InMemoryBroker) -> None:
    # The poll loop is written out twice (run's hot path and events()); they must not drift.
    producer = Producer(broker)
    await producer.send_all("payments", [payment(i, order="one") for i in range(3)])
    await broker.produce("payments", b"not an event", key=b"one")
    await producer.send("payments", payment(3, order="one"))

    def hops(group: str) -> list[tuple[str, int, int]]:
        kinds = ("delivered", "handled", "committed", "failed", "dead_lettered")
        return [
            (h.kind, h.partition, h.offset)
            for h in broker.trace.select(group=group)
            if h.kind in kinds
        ]

    async with Consumer(broker, "by-run", "payments", lambda e: None, start="earliest") as consumer:
        await consumer.run()
    async with Consumer(broker, "by-loop", "payments", start="earliest") as consumer:
        async for _ in consumer.events():
            pass
    # 5 delivered, 4 handled, 1 failed and dead-lettered, 5 committed
    assert hops("by-run") == hops("by-loop") and len(hops("by-run")) == 16


async def test_a_consumer_that_publishes_and_a_processor() -> None:
    from eda_lib.domain import LargePaymentFlagged, OrderShipped
    from eda_lib.domain.services import LargePaymentWatch, ShippingDesk
    from eda_lib.explorer import events

    async with InMemoryBroker() as broker:
        for topic in ("payments", "shipments", "alerts"):
            await broker.create_topic(topic)
        amounts = [12_000, 4_999, 25_000, 20_000]
        payments = [
            PaymentSuccessful(payment_id=f"p{n}", order_id=f"o{n}", amount=a, currency="usd")
            for n, a in enumerate(amounts)
        ]
        await Producer(broker, "payment-service").send_all("payments", [*payments, payments[0]])
        desk = ShippingDesk(Producer(broker, "shipping"))
        watch = LargePaymentWatch(Producer(broker, "fraud-watch"), threshold=20_000)
        for group, handler in (("shipping", desk.handle), ("fraud", watch.handle)):
            async with Consumer(broker, group, "payments", handler, start="earliest") as consumer:
                await consumer.run(max_events=5)
        shipped = await events(broker, "shipments")
        alerts = await events(broker, "alerts")
    assert [type(e) for e in shipped] == [OrderShipped] * 4  # the repeated payment shipped nothing
    assert [e.causation_id for e in shipped] == [p.id for p in payments]
    assert [(type(e), e.order_id) for e in alerts] == [
        (LargePaymentFlagged, "o2"),
        (LargePaymentFlagged, "o3"),
    ]
    assert all(e.correlation_id == p.id for e, p in zip(alerts, payments[2:], strict=True))
