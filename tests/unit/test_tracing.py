"""Tracing across services (eda_lib.tracing): the trace context travels in the headers from
producer to consumer to the events its handler publishes, and each side's spans link up."""

from __future__ import annotations

import itertools

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.metrics.export import Metric
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from eda_lib import Consumer, InMemoryBroker, Producer, reproducible
from eda_lib.clock import IdSource
from eda_lib.domain import OrderShipped, PaymentSuccessful
from eda_lib.events import Event
from eda_lib.faults import ConsumerFaults
from eda_lib.shop import FLOW, Shop
from eda_lib.shop import TOPICS as SHOP_TOPICS
from eda_lib.tracing import Telemetry, parent_of, tree_order, with_trace
from eda_lib.viz.spans import draw_spans
from tests.unit.shop.scenario import ORDERS, memory

TOPICS = ("payments", "shipments")


def _payment(number: int = 1) -> PaymentSuccessful:
    return PaymentSuccessful(
        payment_id=f"pay-{number}", order_id=f"order-{number}", amount=100, currency="usd"
    )


async def _broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    for topic in TOPICS:
        await broker.create_topic(topic)
    return broker


async def _chain(
    telemetry: Telemetry, broker: InMemoryBroker, *, carry: bool = True
) -> list[Event]:
    """payment-service -> payments -> shipping (publishes OrderShipped) -> shipments -> audit.
    With carry=False, shipping publishes with a producer nobody watches: no trace headers."""
    await telemetry.watch(Producer(broker, "payment-service")).send("payments", _payment())
    shipper = Producer(broker, "shipping")
    if carry:
        telemetry.watch(shipper)

    async def ship(event: PaymentSuccessful) -> None:
        await shipper.send("shipments", event.follow_up(OrderShipped, order_id=event.order_id))

    audited: list[Event] = []
    slow = ConsumerFaults(slow=0.01)
    for group, topic, handler in [
        ("shipping", "payments", ship),
        ("audit", "shipments", audited.append),
    ]:
        consumer = Consumer(broker, group, topic, handler, start="earliest", faults=slow)
        async with telemetry.watch(consumer) as running:
            await running.run()
    return audited


def _by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {f"{s.resource.attributes['service.name']}: {s.name}": s for s in spans}


async def test_the_trace_id_survives_producer_broker_consumer_event_consumer() -> None:
    with reproducible(seed=1):
        telemetry = Telemetry(seed=1)
        broker = await _broker()
        audited = await _chain(telemetry, broker)
    assert len(audited) == 1
    (trace_id, spans), *others = telemetry.traces().items()
    assert others == []
    spans_by = _by_name(spans)
    assert list(spans_by) == [
        "payment-service: send payments",
        "shipping: process payments",
        "shipping: send shipments",
        "audit: process shipments",
    ]
    # Each span's parent is the one before it: a chain, across two topics and three services.
    for parent, child in itertools.pairwise(spans):
        assert child.parent is not None and child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == trace_id
    assert [s.kind for s in spans] == [
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
    ]
    # The header on the wire names the producer's span, as W3C Trace Context says.
    shipped = (await broker.read("shipments", 0))[0]
    header = shipped.header("traceparent")
    assert header == f"00-{trace_id:032x}-{spans[2].context.span_id:016x}-01".encode()
    process = spans_by["audit: process shipments"]
    assert process.attributes is not None
    assert process.attributes["messaging.destination.name"] == "shipments"
    assert process.attributes["messaging.consumer.group.name"] == "audit"
    assert process.attributes["messaging.kafka.offset"] == 0
    assert process.attributes["messaging.message.id"] == str(audited[0].id)
    # On the virtual clock: the consumer span lasts its 10 ms of work.
    consumed = spans_by["shipping: process payments"]
    assert (consumed.end_time or 0) - (consumed.start_time or 0) == 10_000_000


async def test_a_publish_without_the_headers_splits_the_trace_in_two() -> None:
    with reproducible(seed=1):
        telemetry = Telemetry(seed=1)
        audited = await _chain(telemetry, await _broker(), carry=False)
    traces = list(telemetry.traces().values())
    assert len(audited) == 1 and len(traces) == 2
    assert [len(t) for t in traces] == [2, 1]
    assert traces[1][0].parent is None and traces[1][0].name == "process shipments"


async def test_no_traceparent_and_a_malformed_one_each_start_a_new_trace() -> None:
    broker = await _broker()
    bad = "00-nothex-00f067aa0ba902b7-01"
    plain = Producer(broker, "plain")
    await plain.send("payments", _payment(1))  # no traceparent
    zero_trace = "00-" + "0" * 32 + "-" + "1" * 16 + "-01"  # well formed, but W3C forbids it
    for number, header in [(2, bad), (3, zero_trace)]:
        value, headers = Producer(broker).codec.encode(_payment(number))
        headers = (*headers, ("traceparent", header.encode()))
        await broker.produce("payments", value, key=b"k", headers=headers)
    telemetry = Telemetry(seed=2)
    handled: list[Event] = []
    async with telemetry.watch(
        Consumer(broker, "g", "payments", handled.append, start="earliest")
    ) as consumer:
        report = await consumer.run()
    assert report.handled == 3 and report.dead_lettered == 0  # no crash, nothing parked
    spans = telemetry.spans()
    assert len(spans) == 3 and all(s.parent is None for s in spans)
    assert len({s.context.trace_id for s in spans}) == 3
    assert parent_of((("traceparent", bad.encode()),)) is None
    assert telemetry.metrics() == {"g": {"handled": 3, "failed": 0}}  # lag: not measured


async def test_a_record_without_a_traceparent_starts_a_new_trace_inside_an_app_span() -> None:
    # With no parent in the headers, the consumer span must not join whatever span is current.
    broker = await _broker()
    await Producer(broker, "plain").send("payments", _payment(1))  # no traceparent
    await telemetry_producer_send(broker)
    telemetry = Telemetry(seed=3)
    app = telemetry.tracer("app")
    with app.start_as_current_span("app work") as outer:
        async with telemetry.watch(
            Consumer(broker, "g", "payments", lambda event: None, start="earliest")
        ) as consumer:
            await consumer.run()
    processed = [s for s in telemetry.spans() if s.kind is SpanKind.CONSUMER]
    assert len(processed) == 2
    plain, traced = processed
    assert plain.parent is None and not plain.links
    assert plain.context.trace_id != outer.get_span_context().trace_id
    # The traced record keeps its producer as parent, and links to it, as the conventions ask.
    assert traced.parent is not None and traced.parent.span_id == 0x00F067AA0BA902B7
    assert [link.context.span_id for link in traced.links] == [0x00F067AA0BA902B7]
    assert traced.context.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736


async def telemetry_producer_send(broker: InMemoryBroker) -> None:
    """A record whose traceparent names a producer span of another process."""
    value, headers = Producer(broker).codec.encode(_payment(2))
    parent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await broker.produce("payments", value, key=b"k", headers=(*headers, ("traceparent", parent)))


def test_span_ids_do_not_repeat_the_event_ids_of_the_same_seed() -> None:
    # reproducible(seed=6) and Telemetry(seed=6) in one lesson: the ids must differ.
    events = IdSource(6)
    event_ids = {events.new().hex[:12] for _ in range(20)}  # before the version digit
    telemetry = Telemetry(seed=6)
    for _ in range(10):
        span = telemetry.tracer("s").start_span("x", context=otel_context.Context())
        span.end()
    found = {f"{s.context.trace_id:032x}"[:12] for s in telemetry.spans()}
    found |= {f"{s.context.span_id:016x}"[:12] for s in telemetry.spans()}
    assert len(found) == 20 and not found & event_ids


def test_the_count_is_our_own_metric_not_the_conventions_consumed_messages() -> None:
    telemetry = Telemetry()
    assert _metric_names(telemetry) == []  # nothing counted yet
    telemetry.groups.add("g")
    telemetry.consumed("g", "payments", "crashed", None)
    assert [m.name for m in _metric_names(telemetry)] == ["eda.consumer.handled"]
    assert telemetry.metrics() == {"g": {"handled": 0, "failed": 1}}


def _metric_names(telemetry: Telemetry) -> list[Metric]:
    data = telemetry.reader.get_metrics_data()
    if data is None:
        return []
    return [m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics]


async def _ids(seed: int) -> list[tuple[int, int, int | None]]:
    with reproducible(seed=1):
        telemetry = Telemetry(seed=seed)
        await _chain(telemetry, await _broker())
    return [(s.context.trace_id, s.context.span_id, s.start_time) for s in telemetry.spans()]


async def test_the_same_seed_gives_the_same_ids_and_times() -> None:
    first, second, other = await _ids(5), await _ids(5), await _ids(6)
    assert first == second
    assert [i[:2] for i in first] != [i[:2] for i in other]


async def test_a_failed_handler_is_an_error_span_and_a_failed_count() -> None:
    broker = await _broker()
    telemetry = Telemetry()
    await telemetry.watch(Producer(broker, "pay")).send_all("payments", [_payment(1), _payment(2)])

    def refuse(event: PaymentSuccessful) -> None:
        if event.payment_id == "pay-2":
            raise ValueError("card declined")

    async with telemetry.watch(
        Consumer(broker, "ship", "payments", refuse, start="earliest")
    ) as consumer:
        await consumer.run()
    assert await telemetry.measure_lag(broker, ["payments"]) == {"ship": 0}
    failed = [s for s in telemetry.spans() if s.status.status_code is StatusCode.ERROR]
    assert [s.attributes and s.attributes["error.type"] for s in failed] == ["handler_error"]
    assert telemetry.metrics() == {"ship": {"handled": 1, "failed": 1, "lag": 0}}


async def test_lag_is_what_the_group_has_not_committed() -> None:
    broker = await _broker()
    telemetry = Telemetry()
    await Producer(broker).send_all("payments", [_payment(n) for n in range(1, 6)])
    async with telemetry.watch(
        Consumer(broker, "slow", "payments", lambda e: None, start="earliest")
    ) as consumer:
        await consumer.run(max_events=2)
        assert await telemetry.measure_lag(broker, ["payments"]) == {"slow": 3}
    assert telemetry.metrics()["slow"] == {"handled": 2, "failed": 0, "lag": 3}


def test_with_trace_replaces_old_trace_headers_and_keeps_the_rest() -> None:
    kept = (("ce_type", b"x"), ("traceparent", b"00-old"), ("tracestate", b"a=1"))
    assert with_trace(kept) == (("ce_type", b"x"),)  # no current span: nothing to carry


def test_watch_refuses_what_is_neither_a_producer_nor_a_consumer() -> None:
    with pytest.raises(TypeError, match="watch a Producer or a Consumer"):
        Telemetry().watch(object())  # type: ignore[type-var]


async def test_the_waterfall_draws_each_trace_and_the_tree_order_is_parent_first() -> None:
    with reproducible(seed=1):
        telemetry = Telemetry(seed=1)
        await _chain(telemetry, await _broker(), carry=False)
    traces = list(telemetry.traces().values())
    assert [d for _, d in tree_order(traces[0])] == [0, 1]
    figure = draw_spans(traces, title="split")
    assert len(figure.axes[0].get_yticklabels()) == 5  # two headers, three spans
    with pytest.raises(ValueError, match="no spans"):
        draw_spans([])


async def _traced_shop(telemetry: Telemetry, orders: list[tuple[str, str, int]]) -> Shop:
    shop = Shop(memory(), faults={name: ConsumerFaults(slow=0.01) for name in FLOW})
    shop.watch(telemetry)
    await shop.start()
    for order in orders:
        shop.place(*order)
    await shop.run()
    return shop


async def test_the_shops_outbox_splits_an_orders_trace_unless_it_keeps_the_context() -> None:
    with reproducible(seed=15):
        plain = Telemetry(seed=15)
        shop = await _traced_shop(plain, [("o-3", "cy", 150_000)])
        await shop.stop()
    pieces = list(plain.traces().values())
    roots = [(s[0].name, (s[0].attributes or {}).get("eda.event.type")) for s in pieces]
    assert roots == [  # each decision of the orders service starts a trace at its outbox
        ("send shop-orders", "OrderCreated"),
        ("send shop-orders", "OrderApproved"),
        ("send shop-orders", "OrderCancelled"),
    ]
    with reproducible(seed=15):
        telemetry = Telemetry(seed=15, outbox=True)
        shop = await _traced_shop(telemetry, ORDERS)
        traces = list(telemetry.traces().values())
        assert len(traces) == len(ORDERS)  # one trace per order, its whole saga
        for spans in traces:
            order_id = (spans[0].attributes or {})["messaging.kafka.message.key"]
            sent = {
                (s.attributes or {})["messaging.message.id"]
                for s in spans
                if s.kind is SpanKind.PRODUCER
            }
            assert sent == {str(e.id) for e in await shop.story(str(order_id))}
            # Every send hangs under a span of the service that sent it, the outbox's too (the
            # cause was handled by several services: the sender's own span is the parent).
            by_id = {s.context.span_id: s for s in spans}
            for sent_span in (s for s in spans if s.kind is SpanKind.PRODUCER and s.parent):
                assert sent_span.parent is not None
                parent = by_id[sent_span.parent.span_id]
                assert (
                    parent.resource.attributes["service.name"]
                    == (sent_span.resource.attributes["service.name"])
                ), (sent_span.name, parent.name)
        await shop.poison()
        await shop.run()
        await telemetry.measure_lag(shop.broker, SHOP_TOPICS)
        await shop.stop()
    metrics = telemetry.metrics()
    failed = {group for group, row in metrics.items() if row.get("failed")}
    assert failed == {"shop-orders", "shop-shipping", "shop-read-model"}  # the poison's readers
    assert metrics["shop-read-model"]["handled"] == 16
    assert metrics["shop-analytics"] == {"lag": 5}  # not watched: a lag, no counts


def test_watch_service_finds_the_producers_of_handler_owners() -> None:
    broker = InMemoryBroker()
    telemetry = Telemetry()
    shop = Shop(broker)
    orders = shop.services["orders"].reader
    assert isinstance(orders, Consumer)
    telemetry.watch_service(orders, "orders")
    assert shop.orders.outbox.producer.watcher is not None  # found through the outbox
    assert orders.processor.watcher is not None
