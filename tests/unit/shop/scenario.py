"""The shop tests' orders, and a fresh in-memory broker on a virtual clock."""

from __future__ import annotations

from eda_lib.brokers.memory import InMemoryBroker
from eda_lib.clock import VirtualClock

ORDERS = [("o-1", "ann", 12_000), ("o-2", "bob", 25_000), ("o-3", "cy", 150_000)]


def memory() -> InMemoryBroker:
    return InMemoryBroker(seed=1, clock=VirtualClock())
