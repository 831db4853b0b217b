"""The course looked back on (lesson 15): each idea, the lesson that taught it, and the
`eda_lib` modules that implement it. `recap_table` imports every module it names, so the table
cannot point at one that does not exist."""

from __future__ import annotations

import importlib
from pathlib import Path

_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

RECAP: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("an event: an immutable fact, in a CloudEvents envelope", "01", ("eda_lib.events",)),
    ("producers, consumers, consumer groups, commits", "01", ("eda_lib.messaging",)),
    ("loose coupling, independent scaling", "02", ("eda_lib.labs.scaling",)),
    ("use cases: orders, IoT alerts, notification fan-out", "03", ("eda_lib.domain",)),
    ("events against REST calls, under failure", "04", ("eda_lib.simulate",)),
    ("event sourcing and CQRS, the ideas", "05", ("eda_lib.store", "eda_lib.cqrs")),
    ("good events, handlers by type, correlation ids", "06", ("eda_lib.messaging.handlers",)),
    (
        "schema versions, upcasters, compatibility",
        "06",
        ("eda_lib.reading", "eda_lib.compatibility"),
    ),
    ("tracing across services: W3C traceparent, spans, metrics", "06", ("eda_lib.tracing",)),
    ("queues against logs, brokers, retention", "07", ("eda_lib.queues", "eda_lib.brokers")),
    ("compaction: the last value per key, tombstones", "07", ("eda_lib.compaction",)),
    (
        "Kafka: partitions, keys, offsets, lag",
        "08",
        ("eda_lib.kafka", "eda_lib.kafka_local"),
    ),
    ("aggregates, an event store, snapshots, the outbox", "09", ("eda_lib.sourcing",)),
    ("commands, projections, read models, time travel", "10", ("eda_lib.cqrs",)),
    ("publish/subscribe: one event, many subscribers", "11", ("eda_lib.pubsub",)),
    (
        "retries, dead letters, idempotency, transactions",
        "12",
        ("eda_lib.resilience", "eda_lib.kafka.transactions"),
    ),
    (
        "faults on purpose: crashes, drops, outages",
        "12",
        ("eda_lib.faults", "eda_lib.labs.failure"),
    ),
    ("retry topics: retrying without holding up a partition", "12", ("eda_lib.resilience_topics",)),
    ("table-driven, contract and property tests", "13", ("eda_lib.testing",)),
    ("stream processing: steps, windows, late events", "14", ("eda_lib.processing",)),
    ("a saga with compensations, audited", "15", ("eda_lib.shop",)),
    (
        "the saga orchestrated: a process manager, a semantic lock",
        "15",
        ("eda_lib.shop.orchestrator", "eda_lib.shop.orchestrated"),
    ),
    ("services as processes: SIGTERM, liveness, lag", "15", ("eda_lib.shop.process",)),
)


def lesson_file(number: str) -> str:
    """The notebook file of lesson `number` ("01"), e.g. '01_what_is_eda.ipynb'."""
    found = sorted(_NOTEBOOKS.glob(f"{number}_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no notebook for lesson {number} in {_NOTEBOOKS}")
    return found[0].name


class MarkdownTable(str):
    """Text that a notebook shows as Markdown (a table, here) and a terminal as it is."""

    def _repr_markdown_(self) -> str:
        return str(self)


def recap_table() -> MarkdownTable:
    """The recap as a Markdown table, with a working link to each lesson."""
    rows = ["| idea | lesson | in `eda_lib` |", "|---|---|---|"]
    for idea, number, modules in RECAP:
        for module in modules:
            importlib.import_module(module)
        lesson = lesson_file(number)
        shown = ", ".join(f"`{module}`" for module in modules)
        rows.append(f"| {idea} | [{number}]({lesson}) | {shown} |")
    return MarkdownTable("\n".join(rows))
