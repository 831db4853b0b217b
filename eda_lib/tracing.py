"""Tracing across services (lessons 06 and 15): W3C trace context in message headers, with
OpenTelemetry's Python SDK.

A producer that `Telemetry.watch` watches starts a PRODUCER span for each message it sends and
puts that span's context in the message's headers, as W3C Trace Context says (`traceparent`:
version-traceid-spanid-flags; `tracestate` when a vendor set one). A watched consumer reads the
headers back and runs the handler inside a CONSUMER span, the child of the producer's span (and
linked to it). A handler that publishes does so inside that span, so its events carry the same
trace id on: one trace from the first event to the last thing it caused, across services and
topics. A record with no `traceparent`, or a malformed one, starts a new trace (the W3C rule),
even when the consumer runs inside a span of the application's; it is never an error.

OpenTelemetry's messaging conventions make a link to the message's creation context the default
way to tie a "process" span to its producer, and allow the creation context as the parent only
when one span processes one message: what a watched consumer does, one record per span.

Everything stays in this process: spans go to an `InMemorySpanExporter`, metrics to an
`InMemoryMetricReader`; no collector. Ids come from a seeded generator and span times from the
broker's clock (a virtual one in the lessons), so a notebook prints the same trace on every run.
Each `Telemetry` owns its providers: nothing is set globally, so lessons and tests do not mix.

Span attributes are OpenTelemetry's messaging semantic conventions (`messaging.system`,
`messaging.destination.name`, `messaging.kafka.offset`, ...). The counts are our own counter,
`eda.consumer.handled`: one per record a handler ran on (or that was dead-lettered unread), with
`error.type` on the failed ones. It is not the conventions' `messaging.client.consumed.messages`,
which counts every delivery to the application, when it is received; where the conventions put
a processing outcome is the `messaging.process.duration` histogram, with `error.type` on the
failed operations. The conventions define no lag metric; ours is `eda.consumer.lag` (librdkafka
reports the same as `consumer_lag` in its statistics).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from eda_lib.brokers.base import Broker, Headers, Record
from eda_lib.clock import Clock, clock_of
from eda_lib.events import Event
from eda_lib.messaging.consumer import Consumer
from eda_lib.messaging.loop import Outcome
from eda_lib.messaging.producer import Producer

TRACE_HEADERS = ("traceparent", "tracestate")
"""The headers W3C Trace Context defines, which a watched producer writes."""

HANDLED = "eda.consumer.handled"
LAG = "eda.consumer.lag"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_propagator = TraceContextTextMapPropagator()

Client = TypeVar("Client", Producer, Consumer)


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator: the same ids, in the same order, every run.
    (OpenTelemetry's default draws them from `random` unseeded; W3C forbids all-zero ids.)"""

    def __init__(self, seed: int) -> None:
        # A stream of its own: `random.Random(seed)` would repeat the ids of events made with
        # `reproducible(seed)` (lesson 06 uses 6 for both).
        self._rng = random.Random(f"otel-{seed}")

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


class _HeaderGetter(Getter[Headers]):
    """Reads a record's headers (name, bytes) for the propagator, which wants strings."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        found = [v.decode("utf-8", "replace") for k, v in carrier if k.lower() == key]
        return found or None

    def keys(self, carrier: Headers) -> list[str]:
        return [k for k, _ in carrier]


_getter = _HeaderGetter()


def _nanoseconds(clock: Clock) -> int:
    """Now on `clock`, in nanoseconds since 1970 (what OpenTelemetry stamps spans with), exact
    for a virtual clock: no float in between."""
    return (clock.now() - _EPOCH) // timedelta(microseconds=1) * 1000


def _system(broker: object) -> str:
    """`messaging.system`: "kafka" on a real broker; the in-memory one names itself."""
    return "kafka" if type(broker).__name__ == "KafkaBroker" else "eda_lib.memory"


def with_trace(headers: Headers, span: Span | None = None) -> Headers:
    """`headers` with the trace context of `span` (by default the current span) in place of any
    there were: what a watched producer writes. Without a current span it adds nothing."""
    carrier: dict[str, str] = {}
    where = None if span is None else trace.set_span_in_context(span)
    _propagator.inject(carrier, context=where)
    kept = tuple((k, v) for k, v in headers if k.lower() not in TRACE_HEADERS)
    return kept + tuple((k, v.encode()) for k, v in carrier.items())


def parent_of(headers: Headers) -> trace.SpanContext | None:
    """The span context a record's headers name as the parent; None if they name none (no
    `traceparent`, or one W3C Trace Context would not accept)."""
    extracted = _propagator.extract(headers, getter=_getter)
    found = trace.get_current_span(extracted).get_span_context()
    return found if found.is_valid else None


class _ProducerWatch:
    """A producer's watcher: a PRODUCER span per message, its context in the headers."""

    def __init__(
        self, telemetry: Telemetry, tracer: trace.Tracer, producer: Producer, service: str
    ) -> None:
        self.telemetry = telemetry
        self.tracer = tracer
        self.service = service
        self.clock = clock_of(producer.broker)
        self.system = _system(producer.broker)

    def sending(self, topic: str, event: Event, headers: Headers) -> Headers:
        # The span is over when the message is handed to the client, as a Go `Produce` returns
        # before the broker acknowledges: its delivery report comes later, on another channel.
        now = _nanoseconds(self.clock)
        span = self.tracer.start_span(
            f"send {topic}",
            context=self.telemetry.context_for(event, self.service),
            kind=SpanKind.PRODUCER,
            start_time=now,
            attributes={
                "messaging.system": self.system,
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": str(event.id),
                "messaging.kafka.message.key": event.key or "",
                "eda.event.type": event.event_type,
            },
        )
        span.end(end_time=now)
        return with_trace(headers, span)


class _ConsumerWatch:
    """A consumer's watcher: a CONSUMER span around each record's handler, the child of the
    span in its headers, and current while the handler runs (so what it sends is a child)."""

    def __init__(
        self, telemetry: Telemetry, tracer: trace.Tracer, consumer: Consumer, service: str
    ) -> None:
        self.telemetry = telemetry
        self.tracer = tracer
        self.service = service
        self.group = consumer.group
        self.clock = clock_of(consumer.broker)
        self.system = _system(consumer.broker)
        self.in_hand: list[tuple[Span, object]] = []  # (span, token): one, unless re-entered

    def started(self, record: Record) -> None:
        parent = parent_of(record.headers)
        # No parent: an empty context, so the span is a root. With None, OpenTelemetry would
        # take the current context, and a consumer run inside an application's span would put
        # the record in the application's trace.
        where = (
            otel_context.Context()
            if parent is None
            else trace.set_span_in_context(trace.NonRecordingSpan(parent))
        )
        attributes: dict[str, str | int] = {
            "messaging.system": self.system,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group,
        }
        if record.key is not None:
            attributes["messaging.kafka.message.key"] = record.key.decode("utf-8", "replace")
        span = self.tracer.start_span(
            f"process {record.topic}",
            context=where,
            kind=SpanKind.CONSUMER,
            links=[] if parent is None else [trace.Link(parent)],  # the conventions' SHOULD
            start_time=_nanoseconds(self.clock),
            attributes=attributes,
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        self.in_hand.append((span, token))

    def finished(self, record: Record, result: tuple[Outcome, Event | None] | None) -> None:
        span, token = self.in_hand.pop()
        otel_context.detach(token)  # type: ignore[arg-type]  # the token attach gave
        outcome, event = result if result is not None else (None, None)
        if event is not None:
            if self.telemetry.outbox:
                self.telemetry.handled_in[self.service, event.id] = span.get_span_context()
            span.set_attribute("messaging.message.id", str(event.id))
            span.set_attribute("eda.event.type", event.event_type)
        if outcome is not None:
            span.set_attribute("eda.outcome", outcome.value)
        failure = _failure(outcome, event)
        if failure:
            span.set_status(Status(StatusCode.ERROR, failure))
            span.set_attribute("error.type", failure)
        span.end(end_time=_nanoseconds(self.clock))
        self.telemetry.consumed(self.group, record.topic, failure, outcome)


def _failure(outcome: Outcome | None, event: Event | None) -> str:
    """The `error.type` of a record's processing, or "" if it did not fail."""
    if outcome is None:
        return "crashed"
    if outcome is Outcome.GAVE_UP:
        return "handler_error"  # dead-lettered after the handler kept failing
    if outcome is Outcome.UNPARKED:
        return "not_parked"
    if outcome is Outcome.SKIPPED and event is None:
        return "unreadable"  # dead-lettered: it could not be read
    return ""


class Telemetry:
    """Traces and metrics of the producers and consumers it watches, kept in memory.

    With `outbox=True` it also keeps, by the id of each event a consumer handled, the span that
    handled it; an event sent later outside any span (by an outbox, from its store) then joins
    the trace of the event that caused it (its `causation_id`). A real outbox stores the trace
    context in its table beside the event; this keeps it in memory, for one process.

    One `TracerProvider` per service (its `service.name` is the producer's name, or the
    consumer's group, unless `watch` is told another), all sharing one seeded id generator and
    one in-memory exporter: a trace crosses services, so its spans must end up in one place.
    """

    def __init__(self, seed: int = 0, *, outbox: bool = False) -> None:
        self.ids = SeededIds(seed)
        self.outbox = outbox
        # with outbox=True: (service, event id) -> the span in which that service handled it
        self.handled_in: dict[tuple[str, UUID], trace.SpanContext] = {}
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        meter = self.meters.get_meter("eda_lib.tracing")
        self._handled = meter.create_counter(
            HANDLED,
            unit="{message}",
            description="records a handler ran on, or dead-lettered unread; error.type if failed",
        )
        self._lag = meter.create_gauge(
            LAG, unit="{message}", description="records of a group's topics not yet committed"
        )
        self.providers: dict[str, TracerProvider] = {}
        self.groups: set[str] = set()  # of the consumers watched

    def tracer(self, service: str) -> trace.Tracer:
        """The tracer of `service` (made on first use)."""
        if not service:
            raise ValueError("a service needs a name: it is the span's service.name")
        if service not in self.providers:
            provider = TracerProvider(
                resource=Resource({"service.name": service}), id_generator=self.ids
            )
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            self.providers[service] = provider
        return self.providers[service].get_tracer("eda_lib.tracing")

    def watch(self, client: Client, service: str | None = None) -> Client:
        """Trace `client`, a `Producer` or a `Consumer` (its `run`; an `events()` loop is not
        traced), as `service`; returns it."""
        if isinstance(client, Producer):
            name = service or client.name
            client.watcher = _ProducerWatch(self, self.tracer(name), client, name)
        elif isinstance(client, Consumer):
            name = service or client.group
            client.processor.watcher = _ConsumerWatch(self, self.tracer(name), client, name)
            self.groups.add(client.group)
        else:
            raise TypeError(
                f"watch a Producer or a Consumer, not {type(client).__name__}. Fix: "
                "telemetry.watch(Producer(broker, 'name')) or telemetry.watch(Consumer(...))"
            )
        return client

    def watch_service(self, consumer: Consumer, service: str | None = None) -> Consumer:
        """Watch `consumer` and the producers its handlers publish with, as one service: a
        handler that is a method of an object with a `producer`, or with an `outbox` that has
        one (as the shop's services are). Returns the consumer."""
        name = service or consumer.group
        for handler in consumer.processor.handlers.registered.values():
            owner = getattr(handler, "__self__", None)
            for holder in (owner, getattr(owner, "outbox", None)):
                producer = getattr(holder, "producer", None)
                if isinstance(producer, Producer):
                    self.watch(producer, name)
        return self.watch(consumer, name)

    def context_for(self, event: Event, service: str) -> otel_context.Context | None:
        """The context `service`'s send of `event` starts its span in: the current one (None),
        unless there is no current span and `outbox` remembers the span in which this same
        service handled the event's cause (other services may have handled it too)."""
        if not self.outbox or trace.get_current_span().get_span_context().is_valid:
            return None
        causation = event.causation_id
        cause = None if causation is None else self.handled_in.get((service, causation))
        return None if cause is None else trace.set_span_in_context(trace.NonRecordingSpan(cause))

    # --- what it saw ----------------------------------------------------------------------

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def traces(self) -> dict[int, list[ReadableSpan]]:
        """The spans by trace id, each trace's in tree order (`tree_order`), the traces in the
        order they started."""
        found: dict[int, list[ReadableSpan]] = {}
        for span in self.spans():
            found.setdefault(_context(span).trace_id, []).append(span)
        ordered = {tid: [s for s, _ in tree_order(spans)] for tid, spans in found.items()}
        return dict(sorted(ordered.items(), key=lambda item: item[1][0].start_time or 0))

    def trace_of(self, event_id: object) -> list[ReadableSpan]:
        """The trace in which the event with this id was sent (empty if none was)."""
        for spans in self.traces().values():
            if any(
                s.attributes and s.attributes.get("messaging.message.id") == str(event_id)
                for s in spans
            ):
                return spans
        return []

    def consumed(self, group: str, topic: str, failure: str, outcome: Outcome | None) -> None:
        """Count one record a consumer processed, in `eda.consumer.handled` (a watcher calls
        this)."""
        if outcome is Outcome.SKIPPED and not failure:
            return  # ignored or a repeat: no handler ran, nothing failed
        attributes = {"messaging.consumer.group.name": group, "messaging.destination.name": topic}
        if failure:
            attributes["error.type"] = failure
        self._handled.add(1, attributes)

    async def measure_lag(self, broker: Broker, topics: Sequence[str]) -> dict[str, int]:
        """Record each group's lag on `topics` (records not yet committed) and return it."""
        state = await broker.describe(topics)
        lags = {group.group: group.total_lag for group in state.groups}
        for group, lag in lags.items():
            self._lag.set(lag, {"messaging.consumer.group.name": group})
        return lags

    def metrics(self) -> dict[str, dict[str, int]]:
        """Per consumer group: handled and failed (from the counter), for the groups watched, and
        lag (the last gauge), for the groups `measure_lag` saw. A row has only what was measured."""
        table: dict[str, dict[str, int]] = {g: {"handled": 0, "failed": 0} for g in self.groups}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        attributes = dict(point.attributes or {})
                        group = str(attributes.get("messaging.consumer.group.name", "?"))
                        row = table.setdefault(group, {})
                        value = int(point.value)  # type: ignore[union-attr]  # counter, gauge
                        if metric.name == LAG:
                            row["lag"] = value
                        else:
                            outcome = "failed" if "error.type" in attributes else "handled"
                            row[outcome] = row.get(outcome, 0) + value
        return dict(sorted(table.items()))

    def clear(self) -> None:
        """Forget the spans so far (the metrics keep counting)."""
        self.exporter.clear()


def _context(span: ReadableSpan) -> trace.SpanContext:
    found = span.get_span_context()
    assert found is not None  # a finished SDK span always has one
    return found


def tree_order(spans: Sequence[ReadableSpan]) -> list[tuple[ReadableSpan, int]]:
    """`spans` depth first, each with its depth: a parent before its children, children by
    start time (on a virtual clock many start at once, so the tree decides, not the time). A
    span whose parent is not among them (it came from another process) counts as a root."""
    by_id = {_context(s).span_id: s for s in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent if parent in by_id else None, []).append(span)
    ordered: list[tuple[ReadableSpan, int]] = []

    def visit(parent: int | None, depth: int) -> None:
        for child in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            ordered.append((child, depth))
            visit(_context(child).span_id, depth + 1)

    visit(None, 0)
    return ordered
