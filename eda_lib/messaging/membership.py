"""Who a consumer is, for the parts that do its work: its broker, group and name, where its hops
go, and the clock it waits on."""

from __future__ import annotations

from dataclasses import dataclass

from eda_lib.brokers.base import Consuming, Record
from eda_lib.clock import Clock
from eda_lib.events import Event
from eda_lib.trace import HopKind, Trace


@dataclass(frozen=True)
class Membership:
    broker: Consuming
    group: str
    name: str
    trace: Trace
    clock: Clock

    def hop(
        self, kind: HopKind, record: Record, event: Event | None = None, detail: str = ""
    ) -> None:
        """Put a hop about `record` (and its event) into the trace."""
        if self.trace.enabled:
            event_type, event_id = ("", "") if event is None else (event.event_type, event.id)
            self.trace.record(
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
