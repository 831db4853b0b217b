"""The placement grid: one cell per pair of partitions, counting the keys each pair got."""

from __future__ import annotations

from eda_lib.brokers import partition_for_key
from eda_lib.viz import draw_placements


def test_a_grown_topic_is_a_grid_of_old_rows_and_new_columns() -> None:
    keys = [f"order-{n}" for n in range(300)]
    before = {k: partition_for_key(k.encode(), 3) for k in keys}
    after = {k: partition_for_key(k.encode(), 4) for k in keys}
    figure = draw_placements(
        before, after, 3, column_partitions=4, row_name="3", column_name="4"
    )
    [ax] = figure.axes
    counts = [int(t.get_text()) for t in ax.texts]
    assert len(counts) == 3 * 4 and sum(counts) == 300
    stayed = sum(before[k] == after[k] for k in keys)
    assert ax.get_title() == f"{stayed} of 300 keys on the same partition"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "same partition under both",
        "another partition",
    ]
