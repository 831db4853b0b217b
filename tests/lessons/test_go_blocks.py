"""Every Go block in the lessons is Go: `gofmt -e` parses it (as a whole file, as declarations or
as statements: no `...` placeholders), and every `kafka.ConfigMap` key it sets is one that
librdkafka accepts, checked by building a `confluent_kafka` client with those keys."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from tests.conftest import go_tool

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
FENCE = re.compile(r"```go\n(.*?)```", re.S)
CONFIG_MAP = re.compile(r"kafka\.ConfigMap\{(.*?)\}", re.S)
ENTRY = re.compile(r'"([a-z0-9.]+)":\s*("(?:[^"\\]|\\.)*"|[-\w.]+)')


def _blocks() -> list[tuple[str, str]]:
    found = []
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                for n, block in enumerate(FENCE.findall("".join(cell["source"]))):
                    found.append((f"{notebook.stem}:{cell.get('id')}:{n}", block))
    return found


BLOCKS = _blocks()


def _gofmt() -> str:
    return go_tool("gofmt", "checking the lessons' Go blocks")


def _parses(gofmt: str, source: str) -> bool:
    done = subprocess.run([gofmt, "-e"], input=source, capture_output=True, text=True)
    return done.returncode == 0


def test_the_lessons_have_go_blocks() -> None:
    assert BLOCKS, "no ```go block found in any lesson"


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_each_go_block_parses(where: str, block: str) -> None:
    gofmt = _gofmt()
    assert "..." not in block, f"{where}: a placeholder; show whole Go"
    as_file = block if block.lstrip().startswith("package ") else None
    forms = (
        [as_file]
        if as_file
        else [f"package course\n\n{block}", f"package course\n\nfunc _() {{\n{block}\n}}\n"]
    )
    assert any(_parses(gofmt, form) for form in forms), f"{where}: gofmt -e refuses:\n{block}"


@pytest.mark.parametrize(("where", "block"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_each_config_map_key_is_one_librdkafka_knows(where: str, block: str) -> None:
    for config_map in CONFIG_MAP.findall(block):
        settings = {
            key: json.loads(value) if value.startswith('"') else value
            for key, value in ENTRY.findall(config_map)
        }
        assert settings, f"{where}: a ConfigMap with no key this test can read"
        client = Consumer if "group.id" in settings else Producer
        settings |= {
            "bootstrap.servers": "127.0.0.1:9"
        }  # never connected: the keys are checked when it is made
        try:
            made = client(settings)
        except KafkaException as error:
            pytest.fail(f"{where}: librdkafka refuses {sorted(settings)}: {error}")
        if isinstance(made, Consumer):
            made.close()


# The lessons with course code behind them: each shows the course's Go and runs the same calls
# live through confluent_kafka (librdkafka, the course's client).
GO_LESSONS = ("01", "06", "08", "09", "10", "11", "12", "13", "15")


@pytest.mark.parametrize("number", GO_LESSONS)
def test_each_lesson_with_course_code_shows_its_go_and_runs_it_live(number: str) -> None:
    [notebook] = NOTEBOOKS.glob(f"{number}_*.ipynb")
    cells = json.loads(notebook.read_text())["cells"]
    go = [
        block
        for cell in cells
        if cell["cell_type"] == "markdown"
        for block in FENCE.findall("".join(cell["source"]))
    ]
    live = [
        cell
        for cell in cells
        if cell["cell_type"] == "code"
        and re.search(r"\bconfluent_kafka\b|eda_lib\.kafka\.librdkafka", "".join(cell["source"]))
    ]
    assert go, f"{notebook.name}: no ```go block"
    assert live, f"{notebook.name}: no cell runs the course's client (confluent_kafka)"
