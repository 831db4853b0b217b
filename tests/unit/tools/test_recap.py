"""Lesson 15's recap table names only modules and lessons that exist."""

from __future__ import annotations

from eda_lib.recap import RECAP, lesson_file, recap_table


def test_the_recap_links_every_lesson_it_names_and_imports_every_module() -> None:
    table = recap_table()
    assert table.count("\n") == len(RECAP) + 1
    for _, number, _ in RECAP:
        assert f"({lesson_file(number)})" in table
    assert table._repr_markdown_() == str(table)
