"""Testing event-driven code (lesson 13): a producer that records instead of sending, table-driven
cases for handlers (the course's chapter 6 style), and pytest run in a separate process, so a
notebook (whose event loop is already running) can run real test files and show the result."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eda_lib import clock
from eda_lib.brokers.base import BrokerUnavailable, DeliveryReport
from eda_lib.events import Event
from eda_lib.messaging.handlers import Handler


class RecordingProducer:
    """Stands in for a `Producer` (and a `Publisher`) in a unit test: `sent` keeps what was
    sent, in order, and nothing reaches a broker. With `down=True` every send raises
    `BrokerUnavailable`, as a producer does when the broker cannot be reached."""

    def __init__(self, name: str = "test-producer", *, down: bool = False) -> None:
        self.name = name
        self.down = down
        self.sent: list[tuple[str, Event]] = []

    async def send(self, topic: str, event: Event, *, key: object = None) -> DeliveryReport:
        if self.down:
            raise BrokerUnavailable(f"{self.name}: the broker is down (a test made it so)")
        self.sent.append((topic, event))
        return DeliveryReport(topic, 0, len(self.sent) - 1, clock.now())

    async def publish(self, topic: str, event: Event) -> DeliveryReport:
        return await self.send(topic, event)

    def events(self, topic: str | None = None) -> list[Event]:
        """What was sent (to `topic`, if given)."""
        return [event for to, event in self.sent if topic is None or to == topic]


@dataclass(frozen=True)
class Case:
    """One row of a table-driven test: the event a handler gets, the types of the events it
    should publish (in order), and whether it should raise, and what (for example when the
    producer is down, so that the consumer retries the event)."""

    name: str
    event: Event
    publishes: tuple[str, ...] = ()
    producer_down: bool = False
    raises: type[Exception] | None = None

    def __post_init__(self) -> None:
        given: object = self.publishes  # a learner's ("X") is a str, whatever the annotation says
        if isinstance(given, str):
            raise TypeError(
                f"Case '{self.name}': publishes is the string {self.publishes!r}; it takes a "
                f"tuple of event types: ({self.publishes!r},) (mind the comma)"
            )


@dataclass(frozen=True)
class Outcome:
    """One test's result: its name, whether it passed, and what went wrong if it did not (or,
    for a skipped test, why it was skipped)."""

    name: str
    passed: bool
    detail: str = ""
    skipped: bool = False


@dataclass
class Results:
    """The outcomes of a run of tests, printable as a table."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed and not o.skipped for o in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(not o.passed for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(o.skipped for o in self.outcomes)

    def __bool__(self) -> bool:
        return self.passed > 0 and not self.failed

    def __repr__(self) -> str:
        width = max((len(o.name) for o in self.outcomes), default=4)
        lines = [f"{_mark(o)}  {o.name:<{width}}  {o.detail}".rstrip() for o in self.outcomes]
        tail = f", {self.skipped} skipped" if self.skipped else ""
        lines.append(f"{self.passed} passed, {self.failed} failed{tail}")
        return "\n".join(lines)


def _mark(outcome: Outcome) -> str:
    return "SKIP" if outcome.skipped else "PASS" if outcome.passed else "FAIL"


async def run_cases(
    make_handler: Callable[[RecordingProducer], Handler], cases: Sequence[Case]
) -> Results:
    """Each case on a fresh handler made by `make_handler` around a fresh `RecordingProducer`:
    the case passes if the handler published exactly the expected event types and raised what
    the case expects (or nothing)."""
    results = Results()
    for case in cases:
        producer = RecordingProducer(down=case.producer_down)
        handler = make_handler(producer)
        raised: Exception | None = None
        try:
            result = handler(case.event)
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            raised = error
        results.outcomes.append(_judge(case, producer, raised))
    return results


def _judge(case: Case, producer: RecordingProducer, raised: Exception | None) -> Outcome:
    if case.raises is None and raised is not None:
        return Outcome(case.name, False, f"raised {type(raised).__name__}: {raised}")
    if case.raises is not None and not isinstance(raised, case.raises):
        got = "nothing" if raised is None else type(raised).__name__
        return Outcome(case.name, False, f"expected {case.raises.__name__}, raised {got}")
    published = tuple(event.event_type for event in producer.events())
    if published != case.publishes:
        return Outcome(
            case.name, False, f"published {list(published)}, expected {list(case.publishes)}"
        )
    return Outcome(case.name, True)


def run_pytest(
    *paths: str,
    root: str | Path = ".",
    timeout: float = 600.0,
    progress: bool = False,
    **env: str,
) -> Results:
    """Run pytest on `paths` in a separate process (`pytest.main` cannot run inside a notebook's
    running event loop), from `root`, with extra environment variables `env`; the outcomes come
    from pytest's JUnit XML report, one per test. With `progress=True` a bar on stdout counts
    the tests as they finish."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        # For the bar: -u -v to hear of each test as it finishes, in plain text even in a
        # notebook, whose kernel sets FORCE_COLOR.
        command = [sys.executable, "-u", "-m", "pytest", *paths, "-v", "--color=no"]
        command += ["-p", "no:cacheprovider", f"--junitxml={report}"]
        output = _follow(command, root, {**os.environ, **env}, timeout, progress)
        if not report.exists():
            tail = output.strip().splitlines()[-5:]
            raise RuntimeError("pytest did not run: " + " | ".join(tail))
        return _read_junit(report)


# pytest adds "/ N selected" when some are deselected (by -m or -k, say)
_COLLECTED = re.compile(r"collected (\d+) items?(?:.* (\d+) selected)?")
_FINISHED = re.compile(r"^(\S+::.+?) (?:PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)\b")
# No elapsed time or rate: a notebook saved with the bar's last line stays the same on every run.
_BAR = "{l_bar}{bar:20}| {n_fmt}/{total_fmt} tests"


def _follow(
    command: list[str], root: str | Path, env: dict[str, str], timeout: float, progress: bool
) -> str:
    """Run `command` and return its output (stdout and stderr, interleaved), showing a bar of
    pytest's tests if `progress`; raises `subprocess.TimeoutExpired` after `timeout` seconds."""
    lines: list[str] = []
    seen: set[str] = set()  # a test failing in teardown after passing is reported twice
    # miniters=1, mininterval=0: every step is written, not those a clock happens to pick
    bar = tqdm(
        desc="pytest",
        bar_format=_BAR,
        file=kernel_line() or sys.stdout,
        miniters=1,
        mininterval=0,
        disable=not progress,
    )
    killed = threading.Event()
    out, err = subprocess.PIPE, subprocess.STDOUT  # one pipe: two could fill and block pytest
    with subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=err, text=True) as child:

        def kill() -> None:
            killed.set()
            child.kill()

        # Reading line by line leaves no call to give the timeout to, so a timer enforces it.
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            for line in child.stdout or ():
                lines.append(line)
                if (count := _COLLECTED.search(line)) and bar.total is None:
                    bar.total = int(count[2] or count[1])
                    bar.refresh()
                elif (test := _FINISHED.match(line)) and test[1] not in seen:
                    seen.add(test[1])
                    bar.update()
        except BaseException:
            child.kill()  # as subprocess.run does: an interrupted run leaves no pytest running
            raise
        finally:
            timer.cancel()
            bar.close()
    if killed.is_set():
        raise subprocess.TimeoutExpired(command, timeout, "".join(lines))
    return "".join(lines)


class LastLine:
    """A file for tqdm that hands `show` only the bar's latest state. tqdm redraws its line with
    a carriage return, which a terminal honours; a notebook saves every redraw as a line of its
    own, so there the bar is shown as one display that each redraw replaces."""

    encoding = "utf-8"  # tqdm draws its bar with block characters only for a Unicode file

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show, self.shown = show, ""

    def write(self, text: str) -> int:
        parts = [part.strip() for part in re.split(r"[\r\n]", text)]
        latest = next((part for part in reversed(parts) if part), "")
        if latest and latest != self.shown:
            self.shown = latest
            self.show(latest)
        return len(text)

    def flush(self) -> None:
        pass


def kernel_line() -> LastLine | None:
    """A `LastLine` drawing into one updatable display if we run in a Jupyter kernel, else None
    (a terminal redraws the bar in place by itself)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):  # IPython in a terminal: no front end
        return None
    handle: Any = None  # IPython's DisplayHandle, once the first line is shown

    def show(line: str) -> None:
        nonlocal handle
        if handle is None:
            handle = display({"text/plain": line}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        else:
            handle.update({"text/plain": line}, raw=True)

    return LastLine(show)


def _read_junit(report: Path) -> Results:
    results = Results()
    for case in ElementTree.parse(report).iter("testcase"):
        module = (case.get("classname") or "").rsplit(".", 1)[-1]
        name = f"{module}::{case.get('name')}"
        skipped = case.find("skipped")
        if skipped is not None:  # said, not hidden: a skipped test proves nothing
            why = (skipped.get("message") or "").splitlines()[0][:100]
            results.outcomes.append(Outcome(name, True, why, skipped=True))
            continue
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        detail = (problem.get("message") or "").splitlines()[0][:100] if problem is not None else ""
        results.outcomes.append(Outcome(name, problem is None, detail))
    return results
