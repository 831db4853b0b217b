"""Child process for tests/unit/store/test_sqlite_crash.py: writes to a SQLiteEventStore until
killed.

Two modes, chosen by the first argument:

``crash PATH SEED STREAMS LOG``
    Appends batches of `CrashTick` events forever (or for at most `MAX_RUN_S`), in the order
    that `batch_size` and `pick_stream` fix from SEED alone. On start it reads each stream's
    version and continues the sequence from there, so it can be killed and started again on the
    same file. Before each append it writes ``try STREAM BATCH`` to LOG, after it
    ``ok STREAM BATCH VERSION POSITION`` (the first stored event's); each line is one write(2),
    so what the kernel holds when the process is killed is what the process had done. After
    its first append it prints ``started`` on stdout.

``race PATH STREAM WRITER ATTEMPTS GO``
    Prints ``ready`` once the store is open, waits for the file GO to exist, then makes
    ATTEMPTS attempts to append one `RaceTick` to STREAM at the version it just read, and
    prints one JSON list with the outcome of every attempt. Any exception other than
    `ConcurrencyError` ends the process with a traceback and a non-zero status.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import ClassVar

from eda_lib import Event
from eda_lib.store import ConcurrencyError, SQLiteEventStore

MAX_RUN_S = 30.0  # a child the test forgot to kill stops by itself
MAX_BATCH = 5
PAUSE_S = 0.001  # the mean pause between two appends of the crash writer
THINK_S = 0.001  # the mean time a race writer thinks between reading and appending


class CrashTick(Event):
    """One event of the crash test: where it sits in the sequence the writer attempts."""

    event_type: ClassVar[str] = "tests.unit.store.store_writer.CrashTick"

    stream: str
    batch: int  # 0, 1, 2, ... within the stream
    index: int  # 0 .. size - 1 within the batch
    size: int  # how many events the batch has


class RaceTick(Event):
    """One event of the race test: who appended it, at which version it meant to land."""

    event_type: ClassVar[str] = "tests.unit.store.store_writer.RaceTick"

    writer: str
    intended: int  # the version the writer read, plus one
    attempt: int


def stream_names(count: int) -> list[str]:
    return [f"stream-{n}" for n in range(count)]


def batch_size(seed: int, stream: str, batch: int) -> int:
    """How many events batch number `batch` of `stream` has: 1..MAX_BATCH, fixed by the seed."""
    return random.Random(f"{seed}:{stream}:{batch}").randint(1, MAX_BATCH)


def pick_stream(seed: int, streams: list[str], done: int) -> str:
    """Which stream gets the next batch once `done` batches are in the store in all."""
    return random.Random(f"{seed}:pick:{done}").choice(streams)


def batch_events(seed: int, stream: str, batch: int) -> list[CrashTick]:
    size = batch_size(seed, stream, batch)
    return [CrashTick(stream=stream, batch=batch, index=i, size=size) for i in range(size)]


def batches_at(seed: int, stream: str, version: int) -> int:
    """How many whole batches a stream at `version` holds; exits with status 3 if `version`
    falls inside a batch (the store kept part of one)."""
    batches = total = 0
    while total < version:
        total += batch_size(seed, stream, batches)
        batches += 1
    if total != version:
        print(f"{stream} is at version {version}, inside batch {batches - 1}", file=sys.stderr)
        raise SystemExit(3)
    return batches


def crash(path: str, seed: int, count: int, log_path: str) -> None:
    streams = stream_names(count)
    deadline = time.monotonic() + MAX_RUN_S
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with SQLiteEventStore(path) as store:
        versions = {stream: store.version(stream) for stream in streams}
        done = {stream: batches_at(seed, stream, versions[stream]) for stream in streams}
        started = False
        pace = random.Random()  # when the child pauses; what it appends depends on SEED alone
        while time.monotonic() < deadline:
            stream = pick_stream(seed, streams, sum(done.values()))
            batch = done[stream]
            events = batch_events(seed, stream, batch)
            os.write(log, f"try {stream} {batch}\n".encode())
            stored = store.append(stream, events, versions[stream])
            first = stored[0]
            os.write(log, f"ok {stream} {batch} {first.version} {first.position}\n".encode())
            versions[stream] += len(events)
            done[stream] += 1
            if not started:
                print("started", flush=True)
                started = True
            time.sleep(pace.uniform(0, 2 * PAUSE_S))  # an application does other work too
    os.close(log)


def race(path: str, stream: str, writer: str, attempts: int, go: str) -> None:
    outcomes: list[dict[str, object]] = []
    rng = random.Random(writer)
    with SQLiteEventStore(path) as store:
        print("ready", flush=True)
        deadline = time.monotonic() + MAX_RUN_S
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                raise SystemExit(4)
            time.sleep(0.0005)
        for attempt in range(attempts):
            seen = store.version(stream)
            # A quarter of the attempts append at once; the others think a little first, as a
            # command handler would. Without thinking, SQLite's busy handler (which sleeps, and
            # longer each time) lets one writer keep the lock for a hundred appends, and the two
            # collide only a few times in 400 attempts.
            think = rng.uniform(0, 2 * THINK_S) if rng.random() < 0.75 else 0.0
            if think:
                time.sleep(think)
            event = RaceTick(writer=writer, intended=seen + 1, attempt=attempt)
            outcome: dict[str, object] = {
                "attempt": attempt,
                "seen": seen,
                "thought": think > 0,
                "id": str(event.id),
            }
            try:
                stored = store.append(stream, [event], expected_version=seen)
            except ConcurrencyError as error:
                outcome |= {
                    "won": False,
                    "error_stream": error.stream_id,
                    "error_expected": error.expected,
                    "error_actual": error.actual,
                }
            else:
                outcome |= {
                    "won": True,
                    "stream": stored[0].stream_id,
                    "version": stored[0].version,
                    "position": stored[0].position,
                }
            outcomes.append(outcome)
    print(json.dumps(outcomes), flush=True)


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "crash":
        path, seed, count, log_path = args
        crash(path, int(seed), int(count), log_path)
    elif mode == "race":
        path, stream, writer, attempts, go = args
        race(path, stream, writer, int(attempts), go)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
