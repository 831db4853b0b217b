"""The tests lesson 13 shows and runs: table-driven unit tests of a handler that publishes (the
course's chapter 6 style, with a recording producer instead of a mock), a consumer meeting a
failing handler and a poison event, a contract test written once and run on both brokers, and
a property test of an idempotent consumer."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib import BrokerUnavailable, Consumer, InMemoryBroker, Producer, open_broker
from eda_lib.domain import LargePaymentFlagged, PaymentSuccessful
from eda_lib.domain.services import AnalyticsDashboard, LargePaymentWatch
from eda_lib.resilience import InMemoryProcessedEvents, RetryPolicy
from eda_lib.testing import Case, RecordingProducer, run_cases

THRESHOLD = 20_000


def payment(amount: int, n: int = 1, currency: str = "usd") -> PaymentSuccessful:
    return PaymentSuccessful(
        payment_id=f"pay-{n}", order_id=f"order-{n}", amount=amount, currency=currency
    )


# --- 1. a handler, table-driven ---------------------------------------------------------------

WATCH_CASES = [
    Case("a small payment raises no alert", payment(THRESHOLD - 1)),
    Case("the threshold itself is large", payment(THRESHOLD), ("LargePaymentFlagged",)),
    Case("a large payment is flagged", payment(250_000), ("LargePaymentFlagged",)),
    Case(
        "broker down: the handler raises, so the consumer retries",
        payment(250_000),
        producer_down=True,
        raises=BrokerUnavailable,
    ),
    Case("broker down, small payment: nothing to send, no error", payment(10), producer_down=True),
]


def watch(producer: RecordingProducer) -> object:
    return LargePaymentWatch(producer, threshold=THRESHOLD).handle  # type: ignore[arg-type]


@pytest.mark.parametrize("case", WATCH_CASES, ids=lambda case: case.name)
async def test_large_payment_watch(case: Case) -> None:
    results = await run_cases(watch, [case])  # type: ignore[arg-type]
    assert results, repr(results)


async def test_a_flag_carries_the_payment_and_says_it_was_caused_by_it() -> None:
    producer = RecordingProducer()
    big = payment(250_000, currency="eur")
    await LargePaymentWatch(producer, threshold=THRESHOLD).handle(big)  # type: ignore[arg-type]
    [(topic, flag)] = producer.sent
    assert topic == "alerts" and isinstance(flag, LargePaymentFlagged)
    assert (flag.payment_id, flag.amount, flag.currency) == ("pay-1", 250_000, "EUR")
    assert flag.causation_id == big.id and flag.correlation_id == big.id


# --- 2. a consumer meets a failing handler and a poison event ---------------------------------


async def test_a_failing_handler_is_retried_then_dead_lettered_and_the_consumer_goes_on() -> None:
    handled = []

    def fragile(event: PaymentSuccessful) -> None:
        if event.payment_id == "pay-2":
            raise ValueError("the ledger refused it")
        handled.append(event.payment_id)

    async with InMemoryBroker() as broker:
        await broker.create_topic("payments")
        await Producer(broker).send_all("payments", [payment(1, n) for n in (1, 2, 3)])
        await broker.produce("payments", b"{not json", key=b"order-4")  # a poison message
        retry = RetryPolicy(max_attempts=3, base_delay=0.0, jitter=0.0)
        async with Consumer(
            broker, "ledger", "payments", fragile, retry=retry, start="earliest"
        ) as consumer:
            report = await consumer.run(max_events=4)
        parked = await broker.read("payments.dead-letter", 0)
    assert handled == ["pay-1", "pay-3"]
    assert report.dead_lettered == 2 and consumer.retries == 2
    reasons = [dict(r.headers)["dlt-reason"] for r in parked]
    assert reasons == [b"handler_error", b"not_json"]


# --- 3. a contract, written once, run on both brokers -----------------------------------------


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
async def broker(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "kafka":  # the session's Kafka broker (started or found), or a skip
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        request.getfixturevalue("monkeypatch").setenv("KAFKA_BOOTSTRAP", bootstrap)
    topic = f"contract-{uuid.uuid4().hex[:8]}"
    async with await open_broker(request.param, fresh=[topic]) as opened:
        await opened.create_topic(topic, partitions=3)
        yield opened, topic


async def test_one_key_keeps_its_order_on_any_broker(broker) -> None:  # type: ignore[no-untyped-def]
    opened, topic = broker
    sent = [payment(100 + n, n=n % 4) for n in range(20)]  # four orders, five payments each
    await Producer(opened).send_all(topic, sent)
    got = []
    async with Consumer(opened, f"g-{topic}", topic, got.append, start="earliest") as consumer:
        await consumer.run(max_events=len(sent), timeout=30)
    assert sorted(e.id for e in got) == sorted(e.id for e in sent)
    for order in {e.order_id for e in sent}:
        assert [e.id for e in got if e.order_id == order] == [
            e.id for e in sent if e.order_id == order
        ]


# --- 4. a property: an idempotent consumer counts each payment once ---------------------------

amounts = st.integers(min_value=1, max_value=10**9)


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(amounts, min_size=1, max_size=8),
    repeats=st.lists(st.integers(min_value=0, max_value=7), max_size=8),
)
def test_an_idempotent_dashboard_counts_each_payment_once(
    amounts: list[int], repeats: list[int]
) -> None:
    """Whatever is delivered again (a redelivery after a crash or a rebalance), the totals are
    those of the payments produced, each once: the oracle is the list produced, not the trace."""
    produced = [payment(a, n) for n, a in enumerate(amounts)]
    deliveries = produced + [produced[i % len(produced)] for i in repeats]
    dashboard, seen = AnalyticsDashboard(), InMemoryProcessedEvents()
    for event in deliveries:  # what an idempotent consumer does with each delivery
        if not seen.seen("analytics", event.id):
            dashboard.handle(event)
            seen.add("analytics", event.id)
    assert dashboard.payments == len(produced)
    assert dashboard.revenue["USD"] == sum(amounts)


async def test_the_same_on_a_broker_redelivering_after_a_rewind() -> None:
    """The idempotent consumer for real: a group reads five payments, is rewound to offset 0
    (as after a crash before its commit), and reads them all again."""
    dashboard, seen = AnalyticsDashboard(), InMemoryProcessedEvents()
    async with InMemoryBroker() as broker:
        await broker.create_topic("payments")
        produced = [payment(1_000 * n, n) for n in range(1, 6)]
        await Producer(broker).send_all("payments", produced)
        for _ in range(2):
            async with Consumer(
                broker,
                "analytics",
                "payments",
                dashboard.handle,
                idempotency=seen,
                start="earliest",
            ) as consumer:
                for partition in await consumer.assignment():
                    await consumer.seek(partition, 0)
                await consumer.run()
    assert dashboard.payments == 5 and consumer.duplicates == 5
    assert dashboard.revenue["USD"] == sum(p.amount for p in produced)
