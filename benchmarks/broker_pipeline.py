"""The in-memory pipeline `broker_throughput.py` measures, and one side of its `--against`.

`through_broker` is InMemoryBroker (trace on) + Producer + Consumer, written with API that older
commits have too (`InMemoryBroker(...)`, `Producer(broker).send`, `Consumer(broker, group,
topic, handler)` with `start` and `run`), so that one commit's library can be raced against
another's. Run as a script, it is one side: `PYTHONPATH=<tree> python broker_pipeline.py --tree
<tree> --events N` imports eda_lib from <tree> (and checks that it did), builds the events, says
`ready` and then, for each line read on stdin, runs the pipeline once and prints its events/s on
a line, until stdin closes. Nothing else goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path

from eda_lib import Consumer, InMemoryBroker, PaymentSuccessful, Producer


async def through_broker(events: list[PaymentSuccessful]) -> float:
    broker = InMemoryBroker(trace=True)
    await broker.create_topic("payments", partitions=1)
    producer = Producer(broker, "payment-service")
    received: list[PaymentSuccessful] = []

    def ship(event: PaymentSuccessful) -> None:
        received.append(event)

    consumer = Consumer(broker, "shipping", "payments", ship, name="shipping-1", start="earliest")
    await consumer.start()

    async def produce() -> None:
        for event in events:
            await producer.send("payments", event)
        await producer.flush()

    started = time.perf_counter()
    _, report = await asyncio.gather(produce(), consumer.run(max_events=len(events), timeout=600))
    elapsed = time.perf_counter() - started
    assert report.handled == len(received) == len(events), report
    return len(events) / elapsed


def serve(tree: Path, count: int) -> None:
    import eda_lib

    imported = Path(eda_lib.__file__).resolve()
    assert imported.is_relative_to(tree.resolve()), f"eda_lib came from {imported}, not {tree}"
    from payments import make_events  # the script's folder is on sys.path

    events = make_events(count)
    gc.freeze()  # the input is not what is measured: keep the collector off it
    print("ready", flush=True)
    for _ in sys.stdin:
        print(asyncio.run(through_broker(events)), flush=True)
        gc.collect()  # between rounds, untimed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="where eda_lib must come from")
    parser.add_argument("--events", type=int, default=30_000)
    args = parser.parse_args()
    serve(args.tree, args.events)
