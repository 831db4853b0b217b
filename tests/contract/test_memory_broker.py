"""InMemoryBroker against the shared broker contract."""

from __future__ import annotations

import pytest

from eda_lib import InMemoryBroker
from tests.contract.broker import BrokerContract


class TestInMemoryBroker(BrokerContract):
    @pytest.fixture
    def broker(self) -> InMemoryBroker:
        return InMemoryBroker()
