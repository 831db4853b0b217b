"""The payment events' helpers: money in minor units shown with its currency."""

from __future__ import annotations

from eda_lib import format_money


def test_format_money() -> None:
    assert format_money(12000, "USD") == "120.00 USD"
    assert format_money(5, "EUR") == "0.05 EUR"
    assert format_money(1500, "JPY") == "1,500 JPY"
