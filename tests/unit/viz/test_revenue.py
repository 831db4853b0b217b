"""The capstone's revenue picture: a payment sent again counts once, at its first copy's time
(payment time, `occurred_at`, as the analytics service counts)."""

from __future__ import annotations

from datetime import timedelta

from eda_lib.clock import COURSE_START
from eda_lib.domain import PaymentSuccessful
from eda_lib.viz import plot_revenue


def test_a_repeat_counts_once_at_the_first_copys_minute() -> None:
    paid = PaymentSuccessful(
        payment_id="p-1",
        order_id="o-1",
        amount=12_000,
        currency="USD",
        time=COURSE_START,
        occurred_at=COURSE_START,
    )
    again = PaymentSuccessful(  # the same payment made and sent again: its id, new times
        id=paid.id,
        payment_id="p-1",
        order_id="o-1",
        amount=12_000,
        currency="USD",
        time=COURSE_START + timedelta(minutes=3),
        occurred_at=COURSE_START + timedelta(minutes=3),
    )
    later = PaymentSuccessful(
        payment_id="p-2",
        order_id="o-2",
        amount=5_000,
        currency="USD",
        time=COURSE_START + timedelta(minutes=3),
        occurred_at=COURSE_START + timedelta(minutes=3),
    )
    figure = plot_revenue([], [paid, again, later])
    [ax] = figure.axes
    outline = [bar.get_height() for bar in ax.containers[1]]  # all the money taken, per minute
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["09:00", "09:03"]
    assert outline == [120.0, 50.0]  # not 0 and 170: the repeat is the first payment, at 09:00
