"""The dead-letter channel (lesson 12): a record a consumer cannot handle is copied, with the
reason in its headers, to `<topic>.dead-letter`, so the consumer can go on and nothing is lost."""

from __future__ import annotations

import random
from collections.abc import Iterable

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, BrokerUnavailable, DeliveryReport, Record
from eda_lib.events import Event
from eda_lib.messaging.membership import Membership
from eda_lib.resilience import RetryPolicy, while_unavailable

PARKING_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5)
"""How hard a consumer without a retry policy tries to park a record while the broker is down."""


class DeadLetters:
    def __init__(self, member: Membership, retry: RetryPolicy | None, rng: random.Random):
        self.member = member
        self.policy = retry or PARKING_RETRY
        self.rng = rng
        self.parked = 0

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create each topic's dead-letter topic (creating one that exists does nothing)."""
        for topic in topics:
            await self.member.broker.create_topic(topic + DEAD_LETTER_SUFFIX, partitions=1)

    async def park(
        self,
        record: Record,
        reason: str,
        error: str,
        event: Event | None = None,
        attempts: int = 1,
    ) -> bool:
        """Copy the record to its dead-letter topic; False if the broker would not take it
        (then it must be read again later: it is not lost, and not committed)."""
        m = self.member
        m.hop("failed", record, event, f"{reason}: {error}")
        headers = (
            *record.headers,
            ("dlt-reason", reason.encode()),
            # The error may quote bad input, lone surrogates included: never fail on it here.
            ("dlt-error", error.encode("utf-8", "backslashreplace")),
            ("dlt-source", f"{record.topic}[{record.partition}]@{record.offset}".encode()),
            ("dlt-group", m.group.encode()),
            ("dlt-attempts", str(attempts).encode()),
        )
        target = record.topic + DEAD_LETTER_SUFFIX

        async def send() -> DeliveryReport:
            return await m.broker.produce(
                target, record.value, key=record.key, headers=headers, producer=m.name
            )

        report, _ = await while_unavailable(send, self.policy, self.rng, m.clock)
        if isinstance(report, BrokerUnavailable):
            detail = f"could not dead-letter ({report}); it will be read again"
            m.hop("failed", record, event, detail)
            return False
        m.hop("dead_lettered", record, event, f"{reason} -> {target}@{report.offset}")
        self.parked += 1
        return True
