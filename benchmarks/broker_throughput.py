"""Throughput of InMemoryBroker against the minimum: a bare asyncio.Queue pipeline.

Both pipelines do the same work per event in the same process: the producer serialises a
PaymentSuccessful to CloudEvents JSON, the consumer deserialises it (the same codec on both
sides) and hands it to a handler. The broker run adds partitions, offsets, a consumer group, a
commit per event and the trace (on), so the difference is what those cost: reported as a ratio
of rates and as `overhead_us_per_event`, the broker's time per event minus the queue's, from
the best round of each.

A third pipeline, the bare loop, does the broker's bookkeeping with no structure at all, in one
function: a record tuple per message in a list, a delivery report per send, the same five trace
hops per event, a committed offset per event. Its `bare_loop_overhead_us_per_event` is the floor
the broker's figure can be read against. `gc_us_per_event` is the garbage collector's share of each
pipeline's time, timed through `gc.callbacks` over every round.

`--against COMMIT` also races the broker pipeline (`broker_pipeline.through_broker`) of this tree
against the same pipeline at COMMIT, to guard speed across a rewrite: COMMIT's `eda_lib` is
exported into a temporary folder, and each side runs in a process of its own (`broker_pipeline.py`
with PYTHONPATH at its tree), the two taking turns round by round, who goes first alternating.
`ratio_vs_<commit>` is this tree's best events/s over COMMIT's; the issue's goal for the data
path's rewrite is "after ≥ 0.8 * before", i.e. a ratio of at least 0.8 against the commit before
it. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from broker_pipeline import through_broker  # the script's folder is on sys.path
from payments import make_events

from eda_lib import Event, PaymentSuccessful, deserialize, reproducible, serialize


async def through_queue(events: list[PaymentSuccessful]) -> float:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    received: list[Event] = []

    async def produce() -> None:
        for event in events:
            queue.put_nowait(serialize(event))
        queue.put_nowait(None)

    async def consume() -> None:
        while (data := await queue.get()) is not None:
            received.append(deserialize(data))

    started = time.perf_counter()
    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - started
    assert len(received) == len(events)
    return len(events) / elapsed


async def through_bare_loop(events: list[PaymentSuccessful]) -> float:
    """The broker's bookkeeping, written out flat: what it costs without classes or awaits."""
    trace: list[object] = []
    log: list[tuple[object, ...]] = []
    reports: list[tuple[object, ...]] = []
    committed: dict[tuple[str, int], int] = {}
    received: list[Event] = []
    started = time.perf_counter()
    for event in events:
        trace.extend(("produced", time.time(), "payments", -1, -1, "", "p", event.event_type))
        trace.extend((event.id, f"key={event.subject}"))
        stamp = datetime.now(UTC)
        offset = len(log)
        log.append(("payments", 0, offset, event.key, serialize(event), (), stamp))
        trace.extend(("stored", time.time(), "payments", 0, offset, "", "p", "", "", ""))
        reports.append(("payments", 0, offset, stamp))
    for first in range(0, len(log), 100):  # polls of 100, as the consumer makes them
        batch = log[first : first + 100]
        for record in batch:
            trace.extend(("delivered", time.time(), "payments", 0, record[2], "g", "c", "", "", ""))
        for record in batch:
            received.append(event := deserialize(record[4]))  # type: ignore[arg-type]
            trace.extend(("handled", time.time(), "payments", 0, record[2], "g", "c"))
            trace.extend((event.event_type, event.id, ""))
            committed[("payments", 0)] = record[2] + 1  # type: ignore[operator]
            trace.extend(("committed", time.time(), "payments", 0, record[2], "g", "c", "", "", ""))
    elapsed = time.perf_counter() - started
    assert len(received) == len(events)
    return len(events) / elapsed


class CollectorTime:
    """Seconds the garbage collector has run since this was registered in `gc.callbacks`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began


async def main(count: int, rounds: int) -> dict[str, object]:
    with reproducible(seed=0):
        events = make_events(count)
    gc.freeze()  # the shared input is not what is measured: keep the collector off it
    collector = CollectorTime()
    gc.callbacks.append(collector)
    pipelines = {"queue": through_queue, "broker": through_broker, "bare_loop": through_bare_loop}
    rates: dict[str, list[float]] = {name: [] for name in pipelines}
    collecting = dict.fromkeys(pipelines, 0.0)
    for _ in range(rounds):  # alternate, so drift on a noisy machine hits all alike
        for name, pipeline in pipelines.items():
            before = collector.seconds
            rates[name].append(await pipeline(events))
            collecting[name] += collector.seconds - before
    gc.callbacks.remove(collector)
    broker_rates, queue_rates, bare_rates = rates["broker"], rates["queue"], rates["bare_loop"]
    broker_best, queue_best, bare_best = max(broker_rates), max(queue_rates), max(bare_rates)
    return {
        "events": count,
        "rounds": rounds,
        "events_per_s": round(broker_best),
        "queue_events_per_s": round(queue_best),
        "ratio_vs_asyncio_queue": round(broker_best / queue_best, 3),
        "overhead_us_per_event": round(1e6 / broker_best - 1e6 / queue_best, 2),
        "bare_loop_overhead_us_per_event": round(1e6 / bare_best - 1e6 / queue_best, 2),
        "overhead_vs_bare_loop": round(
            (1e6 / broker_best - 1e6 / queue_best) / (1e6 / bare_best - 1e6 / queue_best), 2
        ),
        "gc_us_per_event": {
            name: round(seconds * 1e6 / (count * rounds), 2) for name, seconds in collecting.items()
        },
    }


ROOT = Path(__file__).resolve().parent.parent
SIDE = Path(__file__).resolve().parent / "broker_pipeline.py"


class Side:
    """A `broker_pipeline.py` process importing eda_lib from `tree`: one round per request."""

    def __init__(self, tree: Path, count: int) -> None:
        command = [sys.executable, str(SIDE), "--tree", str(tree), "--events", str(count)]
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _reply(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{SIDE.name} ended (exit code {self.process.wait()})")
        return line.strip()

    def ready(self) -> None:
        assert self._reply() == "ready"

    def round(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self._reply())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout


def race_against(commit: str, count: int, rounds: int) -> dict[str, object]:
    """This tree's broker pipeline against `commit`'s, each in its own process, taking turns."""
    full = git("rev-parse", "--verify", f"{commit}^{{commit}}").decode().strip()
    short = git("rev-parse", "--short", full).decode().strip()
    with tempfile.TemporaryDirectory(prefix=f"eda-{short}-") as folder:
        archive = git("archive", full, "eda_lib")  # the library alone: all a side imports
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        sides = {"current": Side(ROOT, count), short: Side(Path(folder), count)}
        try:
            for side in sides.values():
                side.ready()
            rates: dict[str, list[float]] = {name: [] for name in sides}
            for n in range(rounds):  # one side at a time; who goes first alternates
                for name in list(sides) if n % 2 == 0 else list(sides)[::-1]:
                    rates[name].append(sides[name].round())
        finally:
            for side in sides.values():
                side.close()
    now, then = max(rates["current"]), max(rates[short])
    return {
        "against": short,
        "current_events_per_s": round(now),
        f"{short}_events_per_s": round(then),
        f"ratio_vs_{short}": round(now / then, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="also race the broker pipeline against this git commit's (one process per side)",
    )
    args = parser.parse_args()
    figures = asyncio.run(main(args.events, args.rounds))
    if args.against:
        figures |= race_against(args.against, args.events, args.rounds)
    print(json.dumps(figures))
