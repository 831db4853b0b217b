"""How long the failure lab takes to redraw after one action, at the size the issue names:
3 topics x 3 partitions x 4 consumer groups, faults on. A redraw is what the widget does after
each click: read the counters, update the picture, encode it as PNG. The action itself (a
publish and a step) is timed apart, as `action_ms`. Last line: one JSON object."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from eda_lib.labs import FailureLab
from eda_lib.viz import LabPicture


async def main(actions: int = 30) -> dict[str, float | int]:
    lab = FailureLab(
        topics=("payments", "orders", "refunds"),
        partitions=3,
        groups=("shipping", "receipts", "analytics", "fraud"),
        seed=7,
    )
    lab.set_fault("drop", 0.1)
    lab.set_fault("duplicate", 0.1)
    lab.set_crash_chance(0.05)
    picture = LabPicture.of(lab)  # what the widget keeps: one figure, updated on each click
    await picture.draw(lab)  # the first drawing warms the font cache
    picture.png()
    redraws, steps = [], []
    for n in range(actions):
        began = time.perf_counter()
        await lab.publish(10)
        await lab.step(1)
        if n == actions // 2:
            await lab.set_down("fraud", True)
        acted = time.perf_counter()
        await lab.counters()
        await picture.draw(lab)
        picture.png()
        done = time.perf_counter()
        steps.append(acted - began)
        redraws.append(done - acted)
    return {
        "topics": 3,
        "partitions_per_topic": 3,
        "groups": 4,
        "actions": actions,
        "redraw_ms": round(statistics.median(redraws) * 1000, 1),
        "redraw_p90_ms": round(sorted(redraws)[int(0.9 * actions)] * 1000, 1),
        "action_ms": round(statistics.median(steps) * 1000, 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
