"""Who a consumer is, for the parts that do its work: its broker, group and name, and a way to
put a hop about one of its records into the broker's trace."""

from __future__ import annotations

from dataclasses import dataclass

from eda_lib.brokers.base import Broker, Record
from eda_lib.events import Event
from eda_lib.trace import HopKind


@dataclass(frozen=True, slots=True)
class Membership:
    broker: Broker
    group: str
    name: str

    def hop(
        self, kind: HopKind, record: Record, event: Event | None = None, detail: str = ""
    ) -> None:
        trace = self.broker.trace
        if trace.enabled:
            event_type, event_id = ("", "") if event is None else (event.event_type, event.id)
            trace.record(
                kind,
                record.topic,
                record.partition,
                record.offset,
                self.group,
                self.name,
                event_type,
                event_id,
                detail,
            )
