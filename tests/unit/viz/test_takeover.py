"""Lesson 15's takeover picture: partitions a member owns over time, one line per partner."""

from __future__ import annotations

from eda_lib.viz import draw_takeover


def test_each_line_steps_through_what_the_member_owned() -> None:
    changes = [  # (time, group, member, partitions owned from then on)
        (9.0, "quick", "B", [0]),
        (9.0, "slow", "B", [1]),
        (10.9, "quick", "B", []),
        (11.0, "quick", "B", [0, 1]),
        (15.9, "slow", "B", []),
        (16.0, "slow", "B", [0, 1]),
        (16.0, "slow", "other", [5]),  # another member: not drawn
    ]
    figure = draw_takeover(
        changes,
        {"close()": "quick", "SIGKILL": "slow"},
        member="B",
        start=10.0,
        stop=17.0,
        session=6.0,
        partitions=2,
    )
    [ax] = figure.axes
    quick, slow = ax.get_lines()[:2]
    assert list(quick.get_xdata()) == [0.0, 0.9000000000000004, 1.0, 8.0]
    assert list(quick.get_ydata()) == [1, 0, 2, 2]
    assert list(slow.get_ydata()) == [1, 0, 2, 2]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "close()",
        "SIGKILL",
        "session.timeout.ms",
    ]
