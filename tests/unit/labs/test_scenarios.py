"""Lesson 12's crash scenario: the three delivery semantics side by side."""

from __future__ import annotations

from eda_lib.labs import crash_scenario
from eda_lib.resilience import InMemoryProcessedEvents


async def test_the_three_delivery_semantics_side_by_side() -> None:
    after = "after the effect"
    # At least once: the event handled just before the crash comes again: a duplicate effect.
    assert await crash_scenario("each", crash=after) == ["pay-0", "pay-1", "pay-1", "pay-2"]
    # At most once: committed on arrival, so nothing repeats it (and a crash mid-handler
    # would have lost it, see below).
    assert await crash_scenario("before", crash=after) == ["pay-0", "pay-1", "pay-2"]
    # At least once + idempotency: redelivered, but applied once.
    assert await crash_scenario("each", crash=after, idempotency=InMemoryProcessedEvents()) == [
        "pay-0",
        "pay-1",
        "pay-2",
    ]
    # A crash before the effect: at least once repeats the handling, at most once loses it.
    assert await crash_scenario("each", crash="before the effect") == ["pay-0", "pay-1", "pay-2"]
    assert await crash_scenario("before", crash="before the effect") == ["pay-0", "pay-2"]
    # The idempotent consumer's gap: a crash after the effect, before its id is recorded.
    gap = "between the effect and its id"
    assert await crash_scenario("each", crash=gap, idempotency=InMemoryProcessedEvents()) == [
        "pay-0",
        "pay-1",
        "pay-1",
        "pay-2",
    ]
