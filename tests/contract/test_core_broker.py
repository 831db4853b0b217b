"""The teaching core's `CoreBroker` against the cases of the broker contract that it covers: the
same tests, unchanged, that `InMemoryBroker` and `KafkaBroker` pass (with eda_lib's own
`Producer` and `Consumer` on top)."""

from __future__ import annotations

import pytest

from eda_lib.core import CoreBroker
from tests.contract.broker import CoreContract


class TestCoreBroker(CoreContract):
    @pytest.fixture
    def broker(self) -> CoreBroker:
        return CoreBroker()
