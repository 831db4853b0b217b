"""Starting and stopping the shop's service processes (lesson 15), for a lesson or a test: what
an operator does with a process manager, in a few calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from tqdm import tqdm

from eda_lib.brokers.base import Broker
from eda_lib.resilience import settle
from eda_lib.shop.audit import ShopAudit, audit
from eda_lib.shop.process import PROCESS_SERVICES, place_order, read_statuses
from eda_lib.shop.services import expected_outcome
from eda_lib.shop.shop import shop_events
from eda_lib.testing import kernel_line


class ServiceDidNotStart(RuntimeError):
    """A service process exited, or did not report running in time."""


class Fleet:
    """The services as OS processes (`python -m eda_lib.shop serve ...`), their state in
    `data`, on the Kafka cluster at `bootstrap`. Use it as `with Fleet(...)`: leaving stops
    every process still running (SIGTERM, then SIGKILL if one hangs)."""

    def __init__(self, data: Path, bootstrap: str) -> None:
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        self.bootstrap = bootstrap
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def __repr__(self) -> str:
        running = [s for s, p in self.processes.items() if p.poll() is None]
        return f"Fleet({', '.join(running) or 'nothing'} running)"

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop_all()

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "eda_lib.shop", "--data", str(self.data), *args]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "KAFKA_BOOTSTRAP": self.bootstrap}

    def start(self, service: str, *, slow: float = 0.0, timeout: float = 60.0) -> int:
        """Start `service` and wait until it reports running; its pid."""
        running = self.processes.get(service)
        if running is not None and running.poll() is None:
            return running.pid
        log = (self.data / f"{service}.log").open("ab")
        process = subprocess.Popen(
            self._command("serve", service, "--slow", str(slow)),
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes[service] = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = read_statuses(self.data).get(service)
            if status is not None and status.pid == process.pid and status.state == "running":
                return process.pid
            if process.poll() is not None:
                break
            time.sleep(0.1)
        process.kill()
        tail = (self.data / f"{service}.log").read_text(errors="replace").splitlines()[-5:]
        raise ServiceDidNotStart(
            f"{service} did not start within {timeout:.0f} s; its log ends:\n" + "\n".join(tail)
        )

    def start_all(self, *, slow: float = 0.0) -> None:
        for service in PROCESS_SERVICES:
            self.start(service, slow=slow)

    def terminate(self, service: str, *, timeout: float = 30.0) -> int:
        """SIGTERM: the service finishes the event in hand, commits, leaves; its exit code."""
        process = self.processes[service]
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def kill(self, service: str) -> int:
        """SIGKILL: the process dies at once, whatever it was doing; its exit code (-9)."""
        process = self.processes[service]
        process.kill()
        return process.wait()

    def stop_all(self) -> dict[str, int]:
        codes = {}
        for service, process in self.processes.items():
            if process.poll() is None:
                try:
                    codes[service] = self.terminate(service)
                except subprocess.TimeoutExpired:
                    codes[service] = process.returncode
        return codes

    def place(self, order_id: str, customer: str, amount: int, currency: str = "USD") -> None:
        place_order(self.data, order_id, customer, amount, currency)

    def read(self, service: str) -> int:
        """How many records `service` has read, as its status file says."""
        status = read_statuses(self.data).get(service)
        return 0 if status is None else status.read

    def status(self) -> tuple[int, str]:
        """`python -m eda_lib.shop status`, run as another process would: exit code and text."""
        done = subprocess.run(
            self._command("status"), env=self._env(), capture_output=True, text=True, timeout=60
        )
        return done.returncode, done.stdout + done.stderr


async def audit_until_done(
    broker: Broker, *, orders: int, timeout: float = 60.0, progress: bool = False
) -> ShopAudit:
    """Audit the shop's topics until all `orders` have ended consistently, or `timeout` passes
    (then the last audit, which says what is unfinished). `progress` shows a bar of the orders
    whose saga has ended."""
    # No elapsed time or rate in the bar: its last line is the same on every run.
    with tqdm(
        total=orders,
        desc="orders ended",
        bar_format="{desc}: {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt}",
        file=kernel_line() or sys.stdout,  # in a notebook: one line, redrawn, not one per step
        disable=not progress,
    ) as bar:
        found = ShopAudit((), 0)

        async def done() -> bool:
            nonlocal found
            found = audit(await shop_events(broker), expected=expected_outcome)
            ended = sum(1 for order in found.orders if order.outcome != "unfinished")
            bar.update(min(ended, orders) - bar.n)
            return found.consistent and len(found.orders) >= orders

        await settle(done, timeout=timeout, every=0.5)
        return found
