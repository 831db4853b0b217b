"""Lesson 01's live reactions: handling interleaves with publishing, as each group polls."""

from __future__ import annotations


async def test_live_reactions_interleave_with_publishing() -> None:
    from eda_lib.labs import live_reactions

    run = await live_reactions(payments=4, every_s=1.0)
    assert run.published_at == {"pay-1": 0.0, "pay-2": 1.0, "pay-3": 2.0, "pay-4": 3.0}
    assert len(run.handled_at) == 3 * 4  # every group handled every payment
    # shipping polls every 0.5 s: it shipped the first order before the second payment existed
    assert run.handled_at[("shipping", "pay-1")] < run.published_at["pay-2"]
    for (group, payment_id), when in run.handled_at.items():
        assert when >= run.published_at[payment_id], (group, payment_id)  # never before it was made
    # analytics polls every 1.5 s: it takes two payments in one poll at 1.25 s
    assert run.handled_at[("analytics", "pay-1")] == run.handled_at[("analytics", "pay-2")] == 1.25
