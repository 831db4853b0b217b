"""Lesson 14's repartition picture: the counts it writes beside each partition are the ones the
payments give, a partial count is marked with the whole, and every text is readable."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from matplotlib.text import Text

from eda_lib.clock import COURSE_START
from eda_lib.domain.payments import PaymentSuccessful
from eda_lib.viz.repartition import count_lines, draw_repartition, minute_key


def _paid(n: int, currency: str, seconds: float) -> PaymentSuccessful:
    return PaymentSuccessful(
        payment_id=f"p{n}",
        order_id=f"order-{n}",
        amount=100,
        currency=currency,
        occurred_at=COURSE_START + timedelta(seconds=seconds),
    )


def test_a_partial_count_is_shown_with_the_whole() -> None:
    true = Counter({("USD", "09:00"): 3, ("EUR", "09:01"): 1})
    assert count_lines(Counter({("USD", "09:00"): 2, ("EUR", "09:01"): 1}), true) == [
        "EUR 09:01: 1",
        "USD 09:00: 2 (of 3)",
    ]
    assert minute_key(_paid(1, "GBP", 61)) == ("GBP", "09:01")


def test_the_picture_shows_each_partitions_counts_readably() -> None:
    a, b, c, d = _paid(1, "USD", 1), _paid(2, "USD", 2), _paid(3, "USD", 3), _paid(4, "GBP", 70)
    figure = draw_repartition(
        [("by order", [[a, d], [b, c]]), ("by currency", [[a, b, c], [d]])], title="two panels"
    )
    texts = [t.get_text() for t in figure.findobj(Text) if t.get_text().strip()]
    assert texts.count("USD 09:00: 1 (of 3)") == 1 and texts.count("USD 09:00: 2 (of 3)") == 1
    assert "USD 09:00: 3" in texts and texts.count("GBP 09:01: 1") == 2
    assert "p4\n09:01" in texts and "two panels" in texts
    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip()]
    assert min(sizes) * figure.dpi / 100 >= 7.5
    assert figure.get_size_inches()[0] <= 10.0
