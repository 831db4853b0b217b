"""The dead-letter channel (lesson 12): a record a consumer cannot handle is copied, with the
reason in its headers, to `<topic>.dead-letter`, so the consumer can go on and nothing is lost."""

from __future__ import annotations

import random
from collections.abc import Iterable

from eda_lib.brokers.base import DEAD_LETTER_SUFFIX, BrokerUnavailable, Record
from eda_lib.events import Event
from eda_lib.messaging.membership import Membership
from eda_lib.resilience import RetryPolicy, wait

PARKING_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5)
"""How hard a consumer without a retry policy tries to park a record while the broker is down."""


class DeadLetters:
    def __init__(self, membership: Membership, retry: RetryPolicy | None, rng: random.Random):
        self.membership = membership
        self.policy = retry or PARKING_RETRY
        self.rng = rng
        self.parked = 0

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        broker = self.membership.broker
        existing = await broker.topics()
        for topic in topics:
            if topic + DEAD_LETTER_SUFFIX not in existing:
                await broker.create_topic(topic + DEAD_LETTER_SUFFIX, partitions=1)

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
        m = self.membership
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
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                report = await m.broker.produce(
                    target, record.value, key=record.key, headers=headers, producer=m.name
                )
            except BrokerUnavailable as down:
                if attempt == self.policy.max_attempts:
                    m.hop(
                        "failed",
                        record,
                        event,
                        f"could not dead-letter ({down}); it will be read again",
                    )
                    return False
                await wait(m.broker.clock, self.policy.delay(attempt, self.rng))
            else:
                m.hop("dead_lettered", record, event, f"{reason} -> {target}@{report.offset}")
                self.parked += 1
                return True
        return False
