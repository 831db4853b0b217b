"""One readable data path: the files one event passes through on its way from `Producer.send` to
its handler, counted by tracing it, and the shortcuts the library no longer takes (methods
swapped on instances, a second consumer loop)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import eda_lib
from eda_lib import Consumer, InMemoryBroker, PaymentSuccessful, Producer, core

PACKAGE = Path(eda_lib.__file__).parent
MAX_FILES = 10  # the library's path
MAX_CORE_FILES = 5  # the teaching core's path
# Parsed while the tests are collected, as in test_architecture.py (python/cpython#106905).
TREES = {path: ast.parse(path.read_text(), filename=str(path)) for path in PACKAGE.rglob("*.py")}


class FilesRun:
    """The eda_lib files (`__init__` files aside) that run a line between `start()` and the
    moment a handler calls `stop()`."""

    def __init__(self) -> None:
        self.files: set[str] = set()

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE) and path.name != "__init__.py":
            self.files.add(str(path.relative_to(PACKAGE)))
        return self._trace

    async def during(self, *steps: Awaitable[object]) -> set[str]:
        before = sys.gettrace()  # a debugger's or coverage's tracer comes back afterwards
        sys.settrace(self._trace)
        try:
            for step in steps:
                await step
        finally:
            sys.settrace(before)
        return self.files

    @staticmethod
    def stop() -> None:
        sys.settrace(None)  # `during` puts back the tracer it found


async def test_one_event_passes_through_at_most_ten_files_of_the_library_trace_off() -> None:
    broker = InMemoryBroker(trace=False)
    await broker.create_topic("payments", 2)
    handled: list[PaymentSuccessful] = []

    def ship(event: PaymentSuccessful) -> None:
        FilesRun.stop()  # the event reached its handler: its path ends here
        handled.append(event)

    producer = Producer(broker)
    consumer = Consumer(broker, "shipping", "payments", ship, start="earliest")
    await consumer.start()
    payment = PaymentSuccessful(payment_id="p-1", order_id="o-1", amount=12_000, currency="EUR")
    files = await FilesRun().during(producer.send("payments", payment), consumer.run(max_events=1))
    await consumer.stop()
    assert handled == [payment]
    assert {"messaging/producer.py", "brokers/memory.py", "messaging/loop.py"} <= files
    assert len(files) <= MAX_FILES, sorted(files)


@dataclass(frozen=True, kw_only=True)
class CorePaid(core.Event):
    payment_id: str


async def test_on_the_teaching_core_it_passes_through_at_most_five() -> None:
    broker = core.CoreBroker()
    await broker.create_topic("payments", 2)
    handled: list[CorePaid] = []

    def ship(event: CorePaid) -> None:
        FilesRun.stop()
        handled.append(event)

    producer = core.Producer(broker)
    consumer = core.Consumer(broker, "shipping", ["payments"], [ship], start="earliest")
    payment = CorePaid(payment_id="p-1", subject="o-1")
    files = await FilesRun().during(producer.send("payments", payment), consumer.run(max_events=1))
    assert handled == [payment]
    assert files == {"core/broker.py", "core/clients.py"}
    assert len(files) <= MAX_CORE_FILES


async def test_no_method_is_swapped_on_an_instance() -> None:
    broker = InMemoryBroker()
    await broker.create_topic("t")
    consumer = Consumer(broker, "g", "t", lambda e: None, start="earliest")
    await consumer.start()
    for part in [broker, consumer, consumer.loop, consumer.processor, Producer(broker)]:
        swapped = [
            name
            for name, value in vars(part).items()
            if callable(value) and callable(getattr(type(part), name, None))
        ]
        assert swapped == [], f"{type(part).__name__} has methods replaced on the instance"
    await consumer.stop()
    # Nor in the source: no class assigns `self.<one of its methods> = ...`.
    swaps = []
    for path in PACKAGE.rglob("*.py"):
        for cls in ast.walk(TREES[path]):
            if not isinstance(cls, ast.ClassDef):
                continue
            methods = {
                f.name for f in cls.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            for node in ast.walk(cls):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                        and target.attr in methods
                    ):
                        swaps.append(f"{path.name}: {cls.name}.{target.attr}")
    assert swaps == []


def test_every_consumer_polls_through_the_one_loop() -> None:
    """Consumer.run, Consumer.events() and lesson 14's WindowedCount all take their records from
    `ConsumerLoop`: nothing else in messaging or processing calls a broker's `poll`."""
    polling = []
    for part in ("messaging", "processing"):
        for path in sorted((PACKAGE / part).glob("*.py")):
            for node in ast.walk(TREES[path]):
                is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                if is_call and node.func.attr == "poll":  # type: ignore[union-attr]
                    polling.append(f"{part}/{path.name}")
    assert polling == ["messaging/loop.py"]
