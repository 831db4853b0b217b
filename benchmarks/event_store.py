"""Our SQLite event store against the `eventsourcing` library, and against plain `sqlite3`.

One run, same process, fresh files in a temporary folder for every side of every round, at one
durability on every side: journal_mode WAL, `PRAGMA synchronous = FULL` (what `SQLiteEventStore`
sets), every save one transaction committed before it returns. `eventsourcing.sqlite` switches
file databases to WAL but sets no `synchronous`, so its connections get SQLite's compiled
default (FULL in the build here, printed as `sqlite_compiled_default_synchronous`); so that
this holds on any build, the library application below sets `PRAGMA synchronous = FULL` on each
connection its pool opens (a wrapper installed from `Application.construct_factory`). The
level and journal mode are read back from a connection of every side, printed, and must agree,
or the run fails.

- Against `eventsourcing` (a dev dependency only), the same work on both sides for each of N
  accounts: create the aggregate, apply 10 commands that each record one event (open, then 9
  deposits of an int), save it; then load every account by id, replaying its 10 events. Ours is
  `BankAccount` in a `Repository` over `SQLiteEventStore`; theirs an `Aggregate` with `@event`
  methods in an `Application` persisted by `eventsourcing.sqlite`, snapshots and the aggregate
  cache off on both sides. (Ours validates every event with pydantic and stores it as
  CloudEvents JSON; theirs stores an unvalidated dataclass-like object as its own JSON.)
- Against the physical limit: plain `sqlite3` inserting already-serialised rows into a table of
  the same shape (INTEGER PRIMARY KEY, the same columns, UNIQUE (stream_id, version)) with the
  same pragmas, `BEGIN IMMEDIATE` + `executemany` + `COMMIT` per account, against
  `SQLiteEventStore.append` of the same already-built 10 events per account (its checks, its
  serialisation and its version check included).
- Our full sequential replay of the store: `read_all()` over all N x 10 events.

Sides alternate (their order flips every round) over several rounds on a noisy machine; each
rate is the median over rounds, each ratio the median of the rounds' own ratios (both sides of
a ratio run back to back in one round). Balances replayed on both sides must equal the expected
ones, or the run exits non-zero. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.sqlite import SQLiteDatastore, SQLiteFactory
from eventsourcing.utils import Environment

from eda_lib import Event, SQLiteEventStore, reproducible, serialize
from eda_lib.domain.accounts import AccountOpened, BankAccount, MoneyDeposited
from eda_lib.sourcing import Repository

SYNCHRONOUS = "FULL"  # what SQLiteEventStore sets: every side runs at this level
LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
DEPOSITS = 9  # + the opening: 10 events per account
RAW_SCHEMA = """
CREATE TABLE events (
    position  INTEGER PRIMARY KEY,
    stream_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL,
    data      TEXT    NOT NULL,
    UNIQUE (stream_id, version)
)
"""
RAW_INSERT = "INSERT INTO events (stream_id, version, type, data) VALUES (?, ?, ?, ?)"

Plan = list[tuple[str, str, list[int]]]  # (account id, owner, deposit amounts) per account


def make_plan(accounts: int) -> Plan:
    return [
        (f"{i:06d}", f"owner-{i}", [100 + (7 * i + 13 * k) % 900 for k in range(1, DEPOSITS + 1)])
        for i in range(accounts)
    ]


def pragmas(execute: Callable[[str], Any]) -> dict[str, str]:
    return {
        "synchronous": LEVELS.get(execute("PRAGMA synchronous")[0], "?"),
        "journal_mode": str(execute("PRAGMA journal_mode")[0]).lower(),
    }


# The eventsourcing side, in the library's own idioms.


class EsAccount(Aggregate):
    @event("Opened")
    def __init__(self, account_id: str, owner: str, currency: str = "USD") -> None:
        self.account_id = account_id
        self.owner = owner
        self.currency = currency
        self.balance = 0
        self.is_open = True

    @staticmethod
    def create_id(account_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/bank/accounts/{account_id}")

    def deposit(self, amount: int) -> None:
        if not self.is_open:  # the same rule as BankAccount.deposit, before the event
            raise ValueError(f"account {self.account_id} is closed: no deposit")
        self._deposited(amount=amount)

    @event("Deposited")
    def _deposited(self, amount: int) -> None:
        self.balance += amount


class EsBank(Application[UUID]):
    is_snapshotting_enabled = False

    datastore: SQLiteDatastore

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        factory = super().construct_factory(env)
        assert isinstance(factory, SQLiteFactory), "PERSISTENCE_MODULE must be eventsourcing.sqlite"
        self.datastore = factory.datastore
        pool = factory.datastore.pool
        create = pool._create_connection

        def create_at_our_level() -> Any:  # after the library has switched the file to WAL
            connection = create()
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
            return connection

        pool._create_connection = create_at_our_level  # type: ignore[method-assign]
        return factory


def open_es(path: Path) -> EsBank:
    return EsBank(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "IS_SNAPSHOTTING_ENABLED": "n",
            "AGGREGATE_CACHE_MAXSIZE": "",  # no cache: every get replays from the database
        }
    )


def es_side(path: Path, plan: Plan) -> dict[str, Any]:
    app = open_es(path)
    try:
        ids: list[UUID] = []
        started = time.perf_counter()
        for account_id, owner, amounts in plan:
            account = EsAccount(account_id=account_id, owner=owner)
            for amount in amounts:
                account.deposit(amount)
            app.save(account)
            ids.append(account.id)
        appended = time.perf_counter() - started
        started = time.perf_counter()
        balances: list[int] = [app.repository.get(aggregate_id).balance for aggregate_id in ids]
        replayed = time.perf_counter() - started
        with app.datastore.get_connection(commit=False) as connection:

            def execute(sql: str) -> Any:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchone()

            settings = pragmas(execute)
            events = execute("SELECT count(*) FROM stored_events")[0]
    finally:
        app.close()
    return {
        "append_s": appended,
        "replay_s": replayed,
        "balances": balances,
        "events": events,
        **settings,
    }


# Our side.


def ours_side(path: Path, plan: Plan) -> dict[str, Any]:
    with SQLiteEventStore(path) as store:
        repo = Repository(store, BankAccount)
        with reproducible(seed=0):  # seeded event ids and a virtual clock: the same file each run
            started = time.perf_counter()
            for account_id, owner, amounts in plan:
                account = BankAccount.open(account_id, owner)
                for amount in amounts:
                    account.deposit(amount)
                repo.save(account)
            appended = time.perf_counter() - started
        started = time.perf_counter()
        balances = [repo.load(account_id).balance for account_id, _, _ in plan]
        replayed = time.perf_counter() - started
        settings = pragmas(lambda sql: store._conn.execute(sql).fetchone())
        events = store.last_position()
    return {
        "append_s": appended,
        "replay_s": replayed,
        "balances": balances,
        "events": events,
        **settings,
    }


Batches = list[tuple[str, list[Event]]]


def make_batches(plan: Plan) -> Batches:
    with reproducible(seed=0):
        return [
            (
                f"{BankAccount.stream_prefix}-{account_id}",
                [
                    AccountOpened(account_id=account_id, owner=owner),
                    *(MoneyDeposited(account_id=account_id, amount=a) for a in amounts),
                ],
            )
            for account_id, owner, amounts in plan
        ]


def store_side(path: Path, batches: Batches) -> dict[str, Any]:
    with SQLiteEventStore(path) as store:
        started = time.perf_counter()
        for stream_id, events in batches:
            store.append(stream_id, events, 0)
        appended = time.perf_counter() - started
        started = time.perf_counter()
        everything = store.read_all()
        read = time.perf_counter() - started
        expected = [e for _, events in batches for e in events]
        same = [stored.event for stored in everything] == expected
        settings = pragmas(lambda sql: store._conn.execute(sql).fetchone())
    return {"append_s": appended, "read_all_s": read, "same_events": same, **settings}


RawRows = list[list[tuple[str, int, str, str]]]


def raw_side(path: Path, rows: RawRows) -> dict[str, Any]:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(RAW_SCHEMA)
        db.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        started = time.perf_counter()
        for batch in rows:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(RAW_INSERT, batch)
            db.execute("COMMIT")
        appended = time.perf_counter() - started
        settings = pragmas(lambda sql: db.execute(sql).fetchone())
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()
    return {"append_s": appended, "events": events, **settings}


def main(accounts: int, rounds: int) -> dict[str, Any]:
    plan = make_plan(accounts)
    expected_balances = [sum(amounts) for _, _, amounts in plan]
    total = accounts * (1 + DEPOSITS)
    batches = make_batches(plan)
    rows: RawRows = [
        [(stream_id, v, e.event_type, serialize(e).decode()) for v, e in enumerate(events, 1)]
        for stream_id, events in batches
    ]
    gc.freeze()  # the shared input is not what is measured: keep the collector off it

    results: dict[str, list[dict[str, Any]]] = {"es": [], "ours": [], "store": [], "raw": []}
    sides: dict[str, Callable[[Path], dict[str, Any]]] = {
        "es": lambda path: es_side(path, plan),
        "ours": lambda path: ours_side(path, plan),
        "raw": lambda path: raw_side(path, rows),
        "store": lambda path: store_side(path, batches),
    }
    for round_ in range(rounds):  # alternate, and flip the order, so drift hits every side alike
        order = (
            ["es", "ours", "raw", "store"] if round_ % 2 == 0 else ["ours", "es", "store", "raw"]
        )
        with tempfile.TemporaryDirectory(prefix="eda-event-store-") as folder:
            for name in order:
                results[name].append(sides[name](Path(folder) / f"{name}.db"))

    problems = []
    for name in ("es", "ours"):
        for result in results[name]:
            if result["balances"] != expected_balances or result["events"] != total:
                problems.append(f"{name}: replayed balances or event count differ from expected")
    for result in results["store"]:
        if not result["same_events"]:
            problems.append("store: read_all() did not return the appended events")
    for result in results["raw"]:
        if result["events"] != total:
            problems.append("raw: row count differs")
    settings = {(r["synchronous"], r["journal_mode"]) for side in results.values() for r in side}
    if settings != {(SYNCHRONOUS, "wal")}:
        problems.append(f"the sides ran at different durability: {sorted(settings)}")
    if problems:
        sys.exit("event_store benchmark FAILED: " + "; ".join(sorted(set(problems))))

    def rates(name: str, key: str) -> list[float]:
        return [total / result[key] for result in results[name]]

    def median_ratio(ours: list[float], theirs: list[float]) -> float:
        return round(statistics.median(a / b for a, b in zip(ours, theirs, strict=True)), 3)

    append, es_append = rates("ours", "append_s"), rates("es", "append_s")
    replay, es_replay = rates("ours", "replay_s"), rates("es", "replay_s")
    store_append, raw = rates("store", "append_s"), rates("raw", "append_s")
    read_all = rates("store", "read_all_s")
    return {
        "aggregates": accounts,
        "events_per_aggregate": 1 + DEPOSITS,
        "rounds": rounds,
        "statistic": "median",
        "sqlite_synchronous": SYNCHRONOUS,
        "sqlite_journal_mode": "wal",
        "sqlite_compiled_default_synchronous": LEVELS.get(
            sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0], "?"
        ),
        "append_ratio_vs_eventsourcing": median_ratio(append, es_append),
        "replay_ratio_vs_eventsourcing": median_ratio(replay, es_replay),
        "append_ratio_vs_raw_sqlite": median_ratio(store_append, raw),
        "append_events_per_s": round(statistics.median(append)),
        "es_append_events_per_s": round(statistics.median(es_append)),
        "replay_events_per_s": round(statistics.median(replay)),
        "es_replay_events_per_s": round(statistics.median(es_replay)),
        "store_append_events_per_s": round(statistics.median(store_append)),
        "raw_sqlite_events_per_s": round(statistics.median(raw)),
        "read_all_events_per_s": round(statistics.median(read_all)),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aggregates", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.aggregates, args.rounds)))
