"""Producers (lessons 01, 08 and 12): events in, delivery reports out, on any `Broker`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self

from eda_lib.brokers.base import BrokerUnavailable, DeliveryReport, Headers, Message, Producing
from eda_lib.clock import clock_of
from eda_lib.codecs import Codec, StructuredJson
from eda_lib.events import Event
from eda_lib.resilience import RetryPolicy, while_unavailable
from eda_lib.trace import trace_of


class _EventKey:
    def __repr__(self) -> str:
        return "EVENT_KEY"


EVENT_KEY = _EventKey()
"""Default for `Producer.send(key=...)`: use the event's own key (its subject)."""


class SendWatcher(Protocol):
    """Sees each message a producer sends, and may add headers (lesson 06's tracing adds
    `traceparent`). Set `producer.watcher`; `eda_lib.tracing.Telemetry.watch` does."""

    def sending(self, topic: str, event: Event, headers: Headers) -> Headers: ...


@dataclass(frozen=True)
class SendOutcome:
    """How one `Producer.send_reliably` ended: stored (with its report), or given up on."""

    event_id: str
    attempts: int
    report: DeliveryReport | None = None
    error: str = ""

    @property
    def stored(self) -> bool:
        return self.report is not None


class Producer:
    """Publishes events to a broker and keeps the delivery report of each send. With a
    `RetryPolicy`, `send_reliably` retries while the broker is unavailable. `codec` writes the
    events (by default CloudEvents structured mode; `KafkaBinary()` puts the attributes in
    `ce_` headers, as the CloudEvents Kafka binding's binary mode does)."""

    def __init__(
        self,
        broker: Producing,
        name: str = "producer",
        *,
        retry: RetryPolicy | None = None,
        codec: Codec | None = None,
    ) -> None:
        self.broker = broker
        self.name = name
        self.retry = retry
        self.codec = codec or StructuredJson()
        self.trace = trace_of(broker)
        self.clock = clock_of(broker)
        # Seeded per client, so that clients sharing a policy do not retry in lockstep.
        self._rng = (retry or RetryPolicy()).rng(name)
        self.reports: list[DeliveryReport] = []
        self.outcomes: list[SendOutcome] = []
        self.watcher: SendWatcher | None = None

    async def send(
        self, topic: str, event: Event, *, key: str | bytes | _EventKey | None = EVENT_KEY
    ) -> DeliveryReport:
        """Serialise the event, hand it to the broker, and return where it was stored.

        The key decides the partition: events with the same key stay in order. By default the
        key is `event.key`; pass `key=None` to let the broker spread the event.
        """
        raw_key, value, headers = self._message(topic, event, key)
        report = await self.broker.produce(
            topic, value, key=raw_key, headers=headers, producer=self.name
        )
        self.reports.append(report)
        return report

    async def send_reliably(
        self, topic: str, event: Event, *, key: str | bytes | _EventKey | None = EVENT_KEY
    ) -> SendOutcome:
        """Send, retrying with backoff while the broker is unavailable; never raises for an
        outage, but says in the outcome whether the event was finally stored."""
        policy = self.retry or RetryPolicy(max_attempts=1)

        async def attempt() -> DeliveryReport:
            return await self.send(topic, event, key=key)

        result, attempts = await while_unavailable(attempt, policy, self._rng, self.clock)
        if isinstance(result, BrokerUnavailable):
            outcome = SendOutcome(str(event.id), attempts, error=str(result))
        else:
            outcome = SendOutcome(str(event.id), attempts, result)
        self.outcomes.append(outcome)
        return outcome

    async def send_all(
        self, topic: str, events: Sequence[Event], *, chunk: int = 1000
    ) -> list[DeliveryReport]:
        """Send events in order, each with its own key, waiting for acknowledgements a chunk at
        a time rather than one by one (on Kafka: one round trip per chunk, not per event)."""
        reports: list[DeliveryReport] = []
        for first in range(0, len(events), chunk):
            part = events[first : first + chunk]
            for event in part:  # all or nothing: no hop for a chunk that cannot be sent
                if not isinstance(event, Event):
                    raise _not_an_event(event)
            messages = [self._message(topic, event, EVENT_KEY) for event in part]
            reports.extend(await self.broker.produce_many(topic, messages, producer=self.name))
        self.reports.extend(reports)
        return reports

    def _message(self, topic: str, event: Event, key: str | bytes | _EventKey | None) -> Message:
        """The event as a message (key, value, headers), and its 'produced' hop."""
        if not isinstance(event, Event):
            raise _not_an_event(event)
        chosen = event.key if isinstance(key, _EventKey) else key
        raw_key = chosen.encode() if isinstance(chosen, str) else chosen
        value, headers = self.codec.encode(event)
        if self.watcher is not None:
            headers = self.watcher.sending(topic, event, headers)
        if self.trace.enabled:
            shown = chosen if isinstance(chosen, str) else _shown(chosen)
            detail = "no key" if chosen is None else f"key={shown}"
            self.trace.record(
                "produced", topic, -1, -1, "", self.name, event.event_type, event.id, detail
            )
        return raw_key, value, headers

    async def flush(self) -> None:
        """Wait until every send so far is acknowledged (call before the program exits)."""
        await self.broker.flush()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:  # on an error too: never linger
        await self.flush()


def _not_an_event(sent: object) -> TypeError:
    return TypeError(f"send an eda_lib Event, not {type(sent).__name__}")


def _shown(key: bytes | None) -> str:
    return "" if key is None else key.decode("utf-8", "backslashreplace")
