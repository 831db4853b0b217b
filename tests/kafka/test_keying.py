"""Lesson 10's keying pitfall on a real Kafka broker. Which partition a consumer reads first
depends on fetch timing, so the trials are repeated and only what is stable is asserted: keyed
by event type, the read model is wrong in at least one trial; keyed by order id, in none."""

from __future__ import annotations

import pytest

from eda_lib.kafka import KafkaBroker
from eda_lib.labs import keying_trial

pytestmark = pytest.mark.kafka
TRIALS = 6


async def test_keying_by_event_type_goes_wrong_and_by_order_id_never(
    broker: KafkaBroker,
) -> None:
    wrong_by_type = []
    for _ in range(TRIALS):
        by_type = await keying_trial(broker, "event_type")
        by_id = await keying_trial(broker, "order_id")
        assert by_id.wrong == [], by_id
        assert all(len(set(p)) == 1 for p in by_id.partitions.values())
        wrong_by_type.append(len(by_type.wrong))
    assert max(wrong_by_type) > 0, f"keyed by event type, wrong per trial: {wrong_by_type}"
