"""The SQLite event store under real processes: killed mid-append, raced by two writers, and
created by two processes at once; and a SQLite read model killed mid-projection.

The oracles do not trust the store's own bookkeeping. The crash test regenerates, from a seed,
the exact sequence of batches its child process (tests/unit/store/store_writer.py) attempts, and
checks that what the store holds is a whole-batch prefix of it that contains every batch the
child saw acknowledged. The race test checks every stored event against the outcome each writer
reported for each of its attempts.
"""

from __future__ import annotations

import itertools
import json
import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from uuid import UUID

from eda_lib.store import SQLiteEventStore, StoredEvent
from tests.unit.store.store_writer import CrashTick, RaceTick, batch_size, stream_names

WRITER = Path(__file__).with_name("store_writer.py")
SEED = 20260607
STREAMS = 3
ROUNDS = 20
START_TIMEOUT_S = 30.0  # a child must import eda_lib and make its first append in this time
EXIT_TIMEOUT_S = 10.0


def start_writer(*args: object, stderr: IO[bytes]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], expected: str, stderr_path: Path) -> None:
    """Block until the child prints `expected` on a line of its own (or fail after a while)."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=START_TIMEOUT_S)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != expected:
        proc.kill()
        proc.wait(timeout=EXIT_TIMEOUT_S)
        raise AssertionError(
            f"the writer did not print {expected!r} within {START_TIMEOUT_S} s (got {line!r}, "
            f"exit status {proc.returncode}); its stderr:\n{stderr_path.read_text()}"
        )


# --- crash safety under SIGKILL ----------------------------------------------------------------


@dataclass
class Attempts:
    """What the child's logs say it did, over all rounds."""

    acked: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    """(stream, batch) -> (version, position) of the batch's first event, as append returned."""
    in_flight: set[tuple[str, int]] = field(default_factory=set)
    """Batches a child was killed between announcing and acknowledging."""


def read_log(log: Path, attempts: Attempts) -> tuple[str, int] | None:
    """Adds one round's log to `attempts`; returns the batch in flight when the child died."""
    lines = log.read_text().split("\n")[:-1]  # a last line without its newline never counted
    pending: tuple[str, int] | None = None
    for line in lines:
        kind, stream, batch, *rest = line.split()
        key = (stream, int(batch))
        if kind == "try":
            assert pending is None, f"{log}: a new try before the ok of {pending}"
            pending = key
        else:
            assert kind == "ok" and key == pending, f"{log}: {line!r} does not follow its try"
            attempts.acked[key] = (int(rest[0]), int(rest[1]))
            pending = None
    if pending is not None:
        attempts.in_flight.add(pending)
    return pending


def check_store(path: Path, attempts: Attempts) -> dict[str, list[StoredEvent]]:
    """Every invariant of the store file after a crash; returns each stream's events."""
    streams = stream_names(STREAMS)
    with SQLiteEventStore(path) as store:
        everything = store.read_all()
        by_stream = {stream: store.read_stream(stream) for stream in streams}
        versions = {stream: store.version(stream) for stream in streams}
        last_position = store.last_position()

    positions = [stored.position for stored in everything]
    assert all(p >= 1 for p in positions)
    assert all(a < b for a, b in itertools.pairwise(positions)), positions
    assert last_position == (positions[-1] if positions else 0)
    assert {stored.stream_id for stored in everything} <= set(streams)
    assert sum(len(events) for events in by_stream.values()) == len(everything)
    rows = [row(stored) for stored in everything]
    for stream, events in by_stream.items():
        assert [row(stored) for stored in events] == [r for r in rows if r[0] == stream]

        assert [stored.version for stored in events] == list(range(1, len(events) + 1))
        assert versions[stream] == len(events)
        # Walk the stream batch by batch, as the child attempted them.
        offset = batch = 0
        while offset < len(events):
            size = batch_size(SEED, stream, batch)
            chunk = events[offset : offset + size]
            assert len(chunk) == size, (
                f"{stream}: batch {batch} of {size} events is only partly stored: "
                f"{[stored.event for stored in chunk]}"
            )
            for index, stored in enumerate(chunk):
                event = stored.event
                assert isinstance(event, CrashTick), event
                assert (event.stream, event.batch, event.index, event.size) == (
                    stream,
                    batch,
                    index,
                    size,
                ), f"{stream} version {stored.version} holds {event}"
            key = (stream, batch)
            assert key in attempts.acked or key in attempts.in_flight, (
                f"{stream}: batch {batch} is stored but no child ever attempted it"
            )
            if key in attempts.acked:
                assert attempts.acked[key] == (chunk[0].version, chunk[0].position), (
                    f"{stream}: batch {batch} is not where append said it put it"
                )
            offset += size
            batch += 1
        missing = [b for (s, b) in attempts.acked if s == stream and b >= batch]
        assert not missing, f"{stream}: acknowledged batches {missing} are lost"
    assert len({r[3] for r in rows}) == len(rows), "an event id occurs twice"
    return by_stream


def row(stored: StoredEvent) -> tuple[str, int, int, UUID]:
    return (stored.stream_id, stored.version, stored.position, stored.event.id)


def test_sigkill_mid_append_leaves_whole_batches(tmp_path: Path) -> None:
    """A child appends batches of 1..5 events to 3 streams and is SIGKILLed 20 times at random
    moments; after each kill, the file holds a whole-batch prefix of the child's sequence."""
    path = tmp_path / "crash.db"
    rng = random.Random(SEED)
    attempts = Attempts()
    previous: list[tuple[str, int, int, UUID]] = []
    totals: list[int] = []
    mid_append = {"stored": 0, "absent": 0}
    for round_ in range(ROUNDS):
        log = tmp_path / f"round-{round_}.log"
        stderr_path = tmp_path / f"round-{round_}.stderr"
        with stderr_path.open("wb") as stderr:
            proc = start_writer("crash", path, SEED, STREAMS, log, stderr=stderr)
        try:
            wait_for_line(proc, "started", stderr_path)
            time.sleep(rng.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=EXIT_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=EXIT_TIMEOUT_S)
            assert proc.stdout is not None
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL, (
            f"round {round_}: the writer ended by itself with status {proc.returncode}; "
            f"its stderr:\n{stderr_path.read_text()}"
        )

        pending = read_log(log, attempts)
        by_stream = check_store(path, attempts)
        if pending is not None:
            stream, batch = pending
            present = batch_stored(by_stream[stream], batch)
            mid_append["stored" if present else "absent"] += 1

        # What one round found is never changed or lost by the next.
        current = sorted(
            (row(stored) for events in by_stream.values() for stored in events),
            key=lambda r: r[2],
        )
        assert current[: len(previous)] == previous, f"round {round_} changed earlier events"
        previous = current
        totals.append(len(current))

    print(
        f"\nevents after each kill: {totals}; kills between 'try' and 'ok': "
        f"{sum(mid_append.values())} of {ROUNDS} (batch stored: {mid_append['stored']}, "
        f"absent: {mid_append['absent']})"
    )
    assert totals[-1] > ROUNDS
    assert all(a < b for a, b in itertools.pairwise(totals)), totals
    assert sum(mid_append.values()) >= 1, "no kill landed between announcing and ending an append"


def batch_stored(events: list[StoredEvent], batch: int) -> bool:
    return any(isinstance(s.event, CrashTick) and s.event.batch == batch for s in events)


# --- two writers on one stream -----------------------------------------------------------------

RACE_STREAM = "contested"
RACE_ATTEMPTS = 200


def test_two_writers_one_stream_exactly_one_wins_each_version(tmp_path: Path) -> None:
    """Two processes race to append to one stream at the version they just read: each version
    is won by exactly one of them, and every loss is a ConcurrencyError naming the real state."""
    path = tmp_path / "race.db"
    SQLiteEventStore(path).close()  # created before the race: the writers only append
    go = tmp_path / "go"
    writers = ("alpha", "beta")
    procs: dict[str, subprocess.Popen[str]] = {}
    stderr_paths = {name: tmp_path / f"{name}.stderr" for name in writers}
    try:
        for name in writers:
            with stderr_paths[name].open("wb") as stderr:
                procs[name] = start_writer(
                    "race", path, RACE_STREAM, name, RACE_ATTEMPTS, go, stderr=stderr
                )
        for name, proc in procs.items():
            wait_for_line(proc, "ready", stderr_paths[name])
        go.touch()
        outputs = {}
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0, (
                f"writer {name} failed with status {proc.returncode}:\n"
                f"{stderr_paths[name].read_text()}"
            )
            outputs[name] = json.loads(out)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=EXIT_TIMEOUT_S)

    with SQLiteEventStore(path) as store:
        events = store.read_stream(RACE_STREAM)
        everything = store.read_all()
        version = store.version(RACE_STREAM)

    # One event per version, 1..n, and nothing else in the store.
    assert [stored.version for stored in events] == list(range(1, len(events) + 1))
    assert version == len(events)
    assert everything == events
    positions = [stored.position for stored in events]
    assert all(a < b for a, b in itertools.pairwise(positions))

    won: dict[tuple[str, int], dict[str, object]] = {}
    losses = Counter[str]()
    tight_losses = 0
    for name, outcomes in outputs.items():
        assert [o["attempt"] for o in outcomes] == list(range(RACE_ATTEMPTS)), name
        for outcome in outcomes:
            seen = outcome["seen"]
            if outcome["won"]:
                assert (outcome["stream"], outcome["version"]) == (RACE_STREAM, seen + 1)
                won[(name, outcome["attempt"])] = outcome
            else:
                losses[name] += 1
                tight_losses += not outcome["thought"]
                assert outcome["error_stream"] == RACE_STREAM
                assert outcome["error_expected"] == seen
                assert outcome["error_actual"] > seen, outcome
                # Nobody else could have taken version seen + 1 from under this writer.
                taker = events[seen].event
                assert isinstance(taker, RaceTick)
                assert taker.writer != name, f"{name} lost version {seen + 1} to itself"

    # Every stored event is a win its writer reported, and every reported win is stored.
    assert len(events) == len(won)
    for stored in events:
        event = stored.event
        assert isinstance(event, RaceTick), event
        assert event.intended == stored.version, stored
        outcome = won.get((event.writer, event.attempt))
        assert outcome is not None, f"{stored} was never reported won by {event.writer}"
        assert outcome["version"] == stored.version
        assert outcome["position"] == stored.position
        assert outcome["id"] == str(event.id)

    wins = Counter(name for name, _ in won)
    print(
        f"\nwins: {dict(wins)}; ConcurrencyErrors: {dict(losses)} ({tight_losses} of them "
        f"on attempts made without thinking); stream version {version}"
    )
    assert sum(losses.values()) >= 1, "the two writers never collided"
    assert wins["alpha"] + losses["alpha"] == RACE_ATTEMPTS
    assert wins["beta"] + losses["beta"] == RACE_ATTEMPTS


OPEN_AT_ONCE = r"""
import os, sys, time
from eda_lib.store import SQLiteEventStore
print("ready", flush=True)
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.0002)
with SQLiteEventStore(sys.argv[1]) as store:
    print(store.version("x"))
"""


def test_two_processes_creating_one_new_store_both_succeed(tmp_path: Path) -> None:
    for attempt in range(6):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        path, go = folder / "new.db", folder / "go"
        stderr_paths = [folder / f"child-{n}.stderr" for n in range(2)]
        children = []
        for stderr_path in stderr_paths:
            with stderr_path.open("wb") as stderr:
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-c", OPEN_AT_ONCE, str(path), str(go)],
                        stdout=subprocess.PIPE,
                        stderr=stderr,
                        text=True,
                    )
                )
        for child, stderr_path in zip(children, stderr_paths, strict=True):
            # each has imported eda_lib and now waits for the file `go`
            wait_for_line(child, "ready", stderr_path)
        go.touch()
        for child, stderr_path in zip(children, stderr_paths, strict=True):
            out, _ = child.communicate(timeout=EXIT_TIMEOUT_S * 3)
            assert child.returncode == 0 and out.strip() == "0", stderr_path.read_text()
        with SQLiteEventStore(path) as store:
            assert store.last_position() == 0


PROJECT_SLOWLY = r"""
import sys, time
from eda_lib.cqrs import Projector
from eda_lib.domain import SQLiteOrderSummaries
from eda_lib.store import SQLiteEventStore

class Slow(SQLiteOrderSummaries):
    def apply(self, event):
        time.sleep(0.002)  # so that a kill often lands inside a batch
        super().apply(event)

with SQLiteEventStore(sys.argv[1]) as store:
    view = Slow(sys.argv[2])
    print("started", flush=True)
    Projector(store, view, batch_size=7).catch_up()
    print("done", flush=True)
"""


def test_sigkill_mid_projection_leaves_rows_and_checkpoint_agreeing(tmp_path: Path) -> None:
    from eda_lib.cqrs import Projector
    from eda_lib.domain import Order, SQLiteOrderSummaries
    from eda_lib.sourcing import Repository

    events, views = tmp_path / "events.db", tmp_path / "views.db"
    with SQLiteEventStore(events) as store:
        orders = Repository(store, Order)
        for n in range(300):
            order = Order.place(f"o{n}", "ada", 100 + n)
            order.approve() if n % 2 else order.cancel("no stock")
            orders.save(order)
    rng = random.Random(SEED)
    checkpoints = []
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", PROJECT_SLOWLY, str(events), str(views)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=EXIT_TIMEOUT_S)
        with SQLiteEventStore(events) as store:
            view = SQLiteOrderSummaries(views)
            # The oracle: the store's own events up to the saved checkpoint, applied by hand.
            expected: dict[str, str] = {}
            for stored in store.read_all(1, limit=view.position):
                status = {"OrderCreated": "created", "OrderApproved": "approved"}.get(
                    stored.event.event_type, "cancelled"
                )
                expected[stored.event.order_id] = status  # type: ignore[attr-defined]
            assert view.statuses() == expected
            assert view.position % 7 == 0 or view.position == store.last_position()
            checkpoints.append(view.position)
            view.close()
    assert checkpoints == sorted(checkpoints) and 0 < checkpoints[0] < 600, (
        checkpoints
    )  # killed mid-way
    with SQLiteEventStore(events) as store:
        view = SQLiteOrderSummaries(views)
        Projector(store, view).catch_up()
        assert len(view.statuses()) == 300
        view.close()
