from __future__ import annotations

from collections.abc import Iterator

import pytest

from eda_lib import reproducible


@pytest.fixture
def repeatable() -> Iterator[reproducible]:
    """Seeded ids and a virtual clock for one test; the real ones come back afterwards."""
    with reproducible(seed=42) as state:
        yield state
