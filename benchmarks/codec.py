"""The CloudEvents codec against pydantic's own JSON round trip of the same model.

One `PaymentSuccessful`, round-tripped again and again in the same process: `deserialize(serialize(
event))` (CloudEvents structured mode, every check a consumer relies on) against
`PaymentSuccessful.model_validate_json(event.model_dump_json())`, which is the least any
pydantic-based codec can do. Both sides alternate, in rounds; each figure is the best round.
The binary-mode codec (what `KafkaBroker` uses) is timed too. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from eda_lib import PaymentSuccessful, deserialize, reproducible, serialize
from eda_lib.codecs import KafkaBinary


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

    timings: dict[str, list[float]] = {"codec": [], "pydantic": [], "binary": []}
    for _ in range(rounds):  # alternate, so drift on a noisy machine hits every side alike
        timings["pydantic"].append(per_call_us(pydantic, count))
        timings["codec"].append(per_call_us(ours, count))
        timings["binary"].append(per_call_us(kafka_binary, count))
    best = {name: min(values) for name, values in timings.items()}
    return {
        "events": count,
        "rounds": rounds,
        "codec_us": round(best["codec"], 2),
        "binary_codec_us": round(best["binary"], 2),
        "pydantic_us": round(best["pydantic"], 2),
        "overhead_vs_pydantic": round(best["codec"] / best["pydantic"], 3),
        "binary_overhead_vs_pydantic": round(best["binary"] / best["pydantic"], 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(main(args.events, args.rounds)))
