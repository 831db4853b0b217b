"""Fixtures the unit tests of several areas share: lesson 04's two simulated comparisons, and
a PATH with neither Java nor Maven on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from eda_lib.simulate import EMAIL_OUTAGE, Comparison, Scenario, simulate


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.fixture(scope="module")
def usual() -> Comparison:
    return simulate(Scenario())


@pytest.fixture(scope="module")
def outage() -> Comparison:
    return simulate(Scenario().with_service("email", down=(EMAIL_OUTAGE,)))
