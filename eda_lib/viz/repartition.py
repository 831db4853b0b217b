"""Payments before and after a repartition (lesson 14): one panel per topic, one row per
partition, one box per payment in offset order (coloured by currency, labelled with its payment
id and minute), and beside each row what the processor of that partition counts per currency
per minute. A count that is not the true one (the count over all partitions) is red, with the
true count beside it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from eda_lib.domain.payments import PaymentSuccessful

# Fills dark enough for white 8 pt text; a currency not listed is grey.
_CURRENCY_COLOURS = {"USD": "#4c72b0", "EUR": "#c8692f", "GBP": "#55a868", "JPY": "#8172b2"}
_WRONG, _RIGHT = "#c44e52", "#333333"

Panel = tuple[str, Sequence[Sequence[PaymentSuccessful]]]
"""A heading (the topic, and what it is keyed by) and each partition's payments in offset
order."""


def minute_key(payment: PaymentSuccessful) -> tuple[str, str]:
    """What the lesson counts by: the currency and the minute of event time ("09:00")."""
    return payment.currency, f"{payment.occurred_at:%H:%M}"


def count_lines(counted: Counter[tuple[str, str]], true: Counter[tuple[str, str]]) -> list[str]:
    """One line per (currency, minute) a processor counted: "USD 09:00: 4", and, when that is
    not the true count, "(of 6)" after it."""
    lines = []
    for (currency, minute), n in sorted(counted.items()):
        whole = true[currency, minute]
        lines.append(f"{currency} {minute}: {n}" + ("" if n == whole else f" (of {whole})"))
    return lines


def draw_repartition(panels: Sequence[Panel], *, title: str) -> Figure:
    """The panels one above the other: where each payment sat, and each processor's counts."""
    # Every panel holds the same payments: the true counts are the first panel's, all rows.
    everything = [payment for part in (panels[0][1] if panels else []) for payment in part]
    true: Counter[tuple[str, str]] = Counter(minute_key(p) for p in everything)
    longest = max((len(part) for _, parts in panels for part in parts), default=1)
    rows = sum(len(parts) for _, parts in panels)
    text_room = 5.2  # box widths left for the count lines, right of the longest row
    width = min(10.0, 1.3 + 0.5 * (longest + text_room))
    figure = Figure(figsize=(width, 1.0 + 1.0 * rows + 0.45 * len(panels)), dpi=100)
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    currencies = sorted({p.currency for _, parts in panels for part in parts for p in part})
    for ax, (heading, parts) in zip(axes, panels, strict=True):
        for row, payments in enumerate(parts):
            y = len(parts) - 1 - row
            for offset, payment in enumerate(payments):
                fill = _CURRENCY_COLOURS.get(payment.currency, "#777777")
                box = FancyBboxPatch(
                    (offset + 0.05, y - 0.32), 0.9, 0.64, boxstyle="round,pad=0.01", fc=fill
                )
                box.set_edgecolor("none")
                ax.add_patch(box)
                ax.text(
                    offset + 0.5,
                    y,
                    f"{payment.payment_id}\n{payment.occurred_at:%H:%M}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
            counted = Counter(minute_key(p) for p in payments)
            lines = count_lines(counted, true)
            for i, line in enumerate(lines):  # one line per count, red when it is not whole
                ax.text(
                    longest + 0.4,
                    y + 0.34 - i * 0.17,
                    line,
                    va="center",
                    fontsize=8,
                    color=_WRONG if "(of" in line else _RIGHT,
                )
        ax.set_yticks(
            range(len(parts)), [f"partition {n}" for n in reversed(range(len(parts)))], fontsize=8
        )
        ax.set_xticks([])
        ax.set_xlim(-0.1, longest + text_room)
        ax.set_ylim(-0.55, len(parts) - 0.45)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(heading, fontsize=9, loc="left")
        ax.text(
            longest + 0.4,
            len(parts) - 0.5,
            "its processor counts:",
            fontsize=8,
            va="bottom",
            color="#555555",
        )
    figure.suptitle(title, fontsize=10)
    figure.legend(
        handles=[Patch(color=_CURRENCY_COLOURS.get(c, "#777777"), label=c) for c in currencies],
        loc="lower center",
        ncol=len(currencies),
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return figure
