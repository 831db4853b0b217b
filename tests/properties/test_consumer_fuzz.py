"""10,000+ malformed payloads sent to a running consumer: each is dead-lettered with a typed
reason, the consumer never stops, and the counts add up."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any, get_args

from eda_lib import Consumer, InMemoryBroker, serialize
from eda_lib.codecs import StructuredJson
from eda_lib.events import Problem
from tests.contract.broker import payment

MAX_BYTES = 4096
_NOT_TEXT: list[Any] = [None, 1, True, [], {}, ""]
_NOT_TIME: list[Any] = [None, 1, "", "2026-13-45T99:99:99Z", "2026-01-05T09:00:00", []]
WRONG: dict[str, list[Any]] = {  # values each field must refuse
    "specversion": [None, 1, "0.3", "", []],
    "id": [None, 1, "not-a-uuid", [], {}],
    "source": _NOT_TEXT,
    "type": [None, 1, [], {}],
    "time": _NOT_TIME,
    "data": [None, 1, "x", []],
    "payment_id": _NOT_TEXT,
    "order_id": _NOT_TEXT,
    "occurred_at": _NOT_TIME,
    "amount": [None, "12", 0, -5, 1.5, True, []],
    "currency": [None, 840, "US", "usd$", "", []],
}


def _document(rng: random.Random) -> dict[str, Any]:
    return json.loads(serialize(payment(rng.randrange(10**6))))


def random_bytes(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randrange(0, 300))


def broken_json(rng: random.Random) -> bytes:
    text = serialize(payment(rng.randrange(10**6)))
    cut = rng.randrange(0, len(text))
    return text[:cut] + rng.choice([b"", b",", b"\x00", b"\xff", b"]"])


def wrong_type(rng: random.Random) -> bytes:
    document = _document(rng)
    if rng.random() < 0.5:
        field = rng.choice(["specversion", "id", "source", "type", "time", "data"])
        document[field] = rng.choice(WRONG[field])
    else:
        field = rng.choice(["payment_id", "order_id", "occurred_at", "amount", "currency"])
        document["data"][field] = rng.choice(WRONG[field])
    return json.dumps(document).encode()


def unknown_type(rng: random.Random) -> bytes:
    document = _document(rng)
    document["type"] = rng.choice(["PaymentTeleported", "", "payment", "ORDER", "🙂"]) + str(
        rng.randrange(100)
    )
    return json.dumps(document).encode()


def oversized(rng: random.Random) -> bytes:
    document = _document(rng)
    document["data"]["note"] = "x" * (MAX_BYTES + rng.randrange(1, 5000))
    return json.dumps(document).encode()


GENERATORS = [random_bytes, broken_json, wrong_type, unknown_type, oversized]


async def test_ten_thousand_bad_payloads_are_all_dead_lettered() -> None:
    rng = random.Random(2026)
    broker = InMemoryBroker()
    await broker.create_topic("payments", partitions=3)
    kinds: Counter[str] = Counter()
    for n in range(10_000):
        generate = GENERATORS[n % len(GENERATORS)]
        kinds[generate.__name__] += 1
        await broker.produce("payments", generate(rng), key=str(n).encode())
        if n % 500 == 0:  # good events in between: the consumer must keep handling them
            await broker.produce("payments", serialize(payment(n)), key=b"good")
    handled: list[str] = []
    consumer = Consumer(
        broker,
        "g",
        "payments",
        lambda e: handled.append(e.payment_id),
        name="m",
        batch_size=500,
        codec=StructuredJson(max_bytes=MAX_BYTES),
        start="earliest",
    )
    await consumer.start()
    report = await consumer.run()

    assert report.stopped_because == "idle"  # it never stopped on a bad payload
    assert report.processed == 10_000 + 20 == report.handled + report.dead_lettered
    dead = await broker.read("payments.dead-letter", 0, limit=20_000)
    assert len(dead) == report.dead_lettered == 10_000
    assert report.handled == len(handled) == 20
    reasons = Counter((r.header("dlt-reason") or b"").decode() for r in dead)
    assert set(reasons) <= set(get_args(Problem)), reasons  # every reason is a typed problem
    assert {"not_json", "not_utf8", "invalid_field", "unknown_type", "too_large"} <= set(reasons)
    assert min(kinds.values()) == 2000
    assert (await broker.describe()).group("g").total_lag == 0
