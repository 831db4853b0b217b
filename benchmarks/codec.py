"""The CloudEvents codec against pydantic's own JSON round trip of the same model.

One `PaymentSuccessful`, round-tripped again and again in the same process: `deserialize(serialize(
event))` (CloudEvents structured mode, every check a consumer relies on) against
`PaymentSuccessful.model_validate_json(event.model_dump_json())`, which is the least any
pydantic-based codec can do. Both sides alternate, in rounds; each figure is the best round.
The binary-mode codec (`KafkaBinary`) is timed too, and so is the reason `eda_lib.events` turns
pydantic's errors into `InvalidEvent` in a metaclass rather than in `Event.__init__`: a class with
its own `__init__` is validated through it on every read too, so the same event read by a
subclass that only adds an `__init__` is reported beside ours (`custom_init_read_us`). Last line:
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from eda_lib import PaymentSuccessful, deserialize, reproducible, serialize
from eda_lib.codecs import KafkaBinary


class WithInit(PaymentSuccessful):
    """The same event with an `__init__` of its own, as errors would be caught without the
    metaclass (it only passes the fields on: catching costs nothing until something fails)."""

    event_type = "PaymentSuccessfulWithInit"

    def __init__(self, **fields: Any) -> None:
        super().__init__(**fields)


def per_call_us(action: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        action()
    return (time.perf_counter() - started) / count * 1e6


def main(count: int, rounds: int) -> dict[str, float | int]:
    with reproducible(seed=0):
        event = PaymentSuccessful(
            payment_id="pay-1", order_id="order-1", amount=12_000, currency="usd"
        )
    binary = KafkaBinary()
    assert deserialize(serialize(event)) == event
    assert binary.decode(*binary.encode(event)) == event
    assert PaymentSuccessful.model_validate_json(event.model_dump_json()) == event

    def ours() -> object:
        return deserialize(serialize(event))

    def pydantic() -> object:
        return PaymentSuccessful.model_validate_json(event.model_dump_json())

    def kafka_binary() -> object:
        return binary.decode(*binary.encode(event))

    fields = event.model_dump()

    def read() -> object:  # what the decoder asks pydantic for, once the JSON is parsed
        return PaymentSuccessful.__pydantic_validator__.validate_python(fields)

    def read_with_custom_init() -> object:
        return WithInit.__pydantic_validator__.validate_python(fields)

    timings: dict[str, list[float]] = {
        "codec": [],
        "pydantic": [],
        "binary": [],
        "read": [],
        "custom_init_read": [],
    }
    for _ in range(rounds):  # alternate, so drift on a noisy machine hits every side alike
        timings["pydantic"].append(per_call_us(pydantic, count))
        timings["codec"].append(per_call_us(ours, count))
        timings["binary"].append(per_call_us(kafka_binary, count))
        timings["read"].append(per_call_us(read, count))
        timings["custom_init_read"].append(per_call_us(read_with_custom_init, count))
    best = {name: min(values) for name, values in timings.items()}
    return {
        "events": count,
        "rounds": rounds,
        "codec_us": round(best["codec"], 2),
        "binary_codec_us": round(best["binary"], 2),
        "pydantic_us": round(best["pydantic"], 2),
        "overhead_vs_pydantic": round(best["codec"] / best["pydantic"], 3),
        "binary_overhead_vs_pydantic": round(best["binary"] / best["pydantic"], 3),
        "read_us": round(best["read"], 2),
        "custom_init_read_us": round(best["custom_init_read"], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.events, args.rounds)))
