"""Lesson 09's snapshots, measured: how many events a load reads, against how many the stream
holds, with a full replay and with snapshots every N events. Each account is saved after every
deposit, as a real one would be, and each load's balance is checked against the deposits made."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eda_lib.domain.accounts import BankAccount
from eda_lib.sourcing.repository import Repository
from eda_lib.store.memory import InMemoryEventStore


def replay_cost(
    lengths: Sequence[int], snapshot_every: Iterable[int | None]
) -> dict[str, list[int]]:
    """For each snapshot setting (None: no snapshots), the events read to load an account whose
    stream holds each of `lengths` events."""
    events_read: dict[str, list[int]] = {}
    for every in snapshot_every:
        accounts = Repository(InMemoryEventStore(), BankAccount, snapshot_every=every)
        reads = []
        for length in lengths:
            account = BankAccount.open(f"acc-{length}", "ada")
            accounts.save(account)
            for _ in range(length - 1):
                account.deposit(100)
                accounts.save(account)
            before = accounts.replayed
            loaded = accounts.load(f"acc-{length}")
            if loaded.balance != 100 * (length - 1) or loaded.version != length:
                raise AssertionError(f"account of {length} events loaded as {loaded}")
            reads.append(accounts.replayed - before)
        events_read["full replay" if every is None else f"snapshot every {every}"] = reads
    return events_read
