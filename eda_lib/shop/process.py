"""One shop service per OS process, against Kafka (lesson 15's deployment).

`serve` runs one service until it gets SIGTERM (or SIGINT): it finishes the event in hand,
commits, leaves its group and exits 0, as chapter 4's consumer does on a signal. What it must
not forget across a restart lives in files under the data directory: the ids it has applied
(SQLite), and for the orders service its event store. Twice a second it writes a status file,
so `status` (another process) can tell whether it is alive without asking it anything, and reads
each group's lag from the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from eda_lib.brokers.base import BrokerError
from eda_lib.domain.order_commands import PlaceOrder, order_bus
from eda_lib.faults import ConsumerFaults
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka.topics import KafkaTopics
from eda_lib.kafka_local.tools import pid_alive
from eda_lib.messaging.consumer import Consumer
from eda_lib.processing.counting import WindowedCount
from eda_lib.resilience import SqliteProcessedEvents
from eda_lib.shop.wiring import FLOW, build, check_service, group_of
from eda_lib.store.sqlite import SQLiteEventStore

PROCESS_SERVICES = ("orders", "payments", "shipping", "notifications", "analytics")
"""The services that run as processes (the read model lives in the lesson's own process)."""
HEARTBEAT_S = 0.5
ALIVE_WITHIN_S = 5.0
"""A service whose last heartbeat is older than this is not alive, whatever its file says."""


@dataclass(frozen=True)
class Status:
    service: str
    pid: int
    state: str  # "running", "stopping" or "stopped"
    heartbeat: float  # time.time() of the last write
    read: int  # records read so far, those it ignored included

    def alive(self, now: float | None = None) -> bool:
        """Running, its process there, and its heartbeat fresh."""
        age = (now or time.time()) - self.heartbeat
        return self.state == "running" and pid_alive(self.pid) and age < ALIVE_WITHIN_S


def status_file(data: Path, service: str) -> Path:
    return data / f"{service}.status.json"


def read_statuses(data: Path) -> dict[str, Status]:
    found = {}
    for service in PROCESS_SERVICES:
        path = status_file(data, service)
        with contextlib.suppress(FileNotFoundError, ValueError, TypeError):
            found[service] = Status(**json.loads(path.read_text()))
    return found


def _write_status(data: Path, status: Status) -> None:
    path = status_file(data, status.service)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(status)))
    os.replace(temporary, path)  # a reader sees the old file or the new one, never half


def orders_store(data: Path) -> SQLiteEventStore:
    return SQLiteEventStore(data / "orders.db")


def place_order(
    data: Path, order_id: str, customer: str, amount: int, currency: str = "USD"
) -> None:
    """The shop front: record a new order in the orders service's store (its outbox, in the
    orders process, publishes it)."""
    data.mkdir(parents=True, exist_ok=True)
    store = orders_store(data)
    try:
        order_bus(store).dispatch(
            PlaceOrder(order_id=order_id, customer_id=customer, amount=amount, currency=currency)
        )
    finally:
        store.close()


async def serve(service: str, data: Path, bootstrap: str, *, slow: float = 0.0) -> int:
    """Run `service` until SIGTERM or SIGINT; 0 after a clean stop."""
    check_service(service)
    if service not in PROCESS_SERVICES:
        raise ValueError(
            f"'{service}' does not run as a process: its projection lives in memory. "
            f"Fix: serve one of {', '.join(PROCESS_SERVICES)}"
        )
    data.mkdir(parents=True, exist_ok=True)
    broker = await KafkaBroker.connect(bootstrap)
    store = orders_store(data) if service == "orders" else None
    shop_service = build(
        service,
        broker,
        idempotency=SqliteProcessedEvents(data / f"{service}.processed.db"),
        store=store,
        faults=ConsumerFaults(slow=slow) if slow else None,
    )
    reader = shop_service.reader
    stopping = asyncio.Event()

    def stop_soon() -> None:  # from the signal: finish the event in hand, then stop
        stopping.set()
        if isinstance(reader, Consumer):
            reader.request_stop()

    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop_soon)
    read = 0

    def status(state: str) -> None:
        _write_status(data, Status(service, os.getpid(), state, time.time(), read))

    async def heartbeat() -> None:  # its own task: a handler retrying for 30 s is still alive
        while not stopping.is_set():
            status("running")
            await asyncio.sleep(HEARTBEAT_S)

    await reader.start()
    beating = asyncio.create_task(heartbeat())
    try:
        while not stopping.is_set():
            if shop_service.orders is not None:
                with contextlib.suppress(BrokerError):  # the store keeps them: next time
                    await shop_service.orders.outbox.publish_pending()
            if isinstance(reader, Consumer):
                read += (await reader.run(timeout=HEARTBEAT_S)).processed
            else:
                read += await _count(reader)
        status("stopping")
    finally:
        stopping.set()
        await beating
        await reader.stop()  # commits what it finished, leaves the group
        await broker.close()
        if store is not None:
            store.close()
    status("stopped")
    return 0


async def _count(processor: WindowedCount) -> int:
    """One run of the analytics processor. If the broker refuses its results, it does what it
    would do after a crash: leave, rejoin, rebuild its open windows from the input."""
    try:
        return (await processor.run(timeout=HEARTBEAT_S)).read
    except BrokerError:
        await processor.crash()
        await processor.start()
        return 0


async def lags(bootstrap: str) -> dict[str, int]:
    """Each service's consumer lag, asked of the broker as any outside tool does: per partition
    of the topics it reads, the end offset minus what its group has committed."""
    topics = KafkaTopics(bootstrap)
    probe = AIOKafkaConsumer(
        **topics.client_options(), enable_auto_commit=False, request_timeout_ms=10_000
    )
    try:
        wanted = sorted({topic for reads, _ in FLOW.values() for topic in reads})
        counts = await topics.describe(wanted)
        tps = [TopicPartition(t, number) for t in wanted for number in range(counts.get(t, 0))]
        await probe.start()
        begins, ends = await probe.beginning_offsets(tps), await probe.end_offsets(tps)
        admin = await topics.admin()
        found = {}
        for service in PROCESS_SERVICES:
            committed = await admin.list_consumer_group_offsets(group_of(service))
            found[service] = sum(
                ends[tp] - max(begins[tp], _offset(committed.get(tp)))
                for tp in tps
                if tp.topic in FLOW[service][0]
            )
        return found
    finally:
        await probe.stop()
        await topics.close(10.0)


def _offset(meta: object) -> int:
    offset = getattr(meta, "offset", -1)
    return offset if isinstance(offset, int) else -1


def status_table(statuses: dict[str, Status], lag: dict[str, int] | None) -> str:
    now = time.time()
    rows = [("service", "alive", "state", "heartbeat", "read", "lag")]
    for service in PROCESS_SERVICES:
        status = statuses.get(service)
        if status is None:
            rows.append((service, "no", "never started", "-", "-", "-"))
            continue
        rows.append(
            (
                service,
                "yes" if status.alive(now) else "no",
                status.state,
                f"{now - status.heartbeat:.1f} s ago",
                str(status.read),
                "?" if lag is None else str(lag.get(service, "-")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )
