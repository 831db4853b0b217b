"""How often each `acks` setting loses what the producer was told was stored, over repeated
trials on a local cluster of three Kafka nodes (lesson 16 runs one).

Each trial runs one producer per setting side by side, each streaming records to the same
partition; the partition's leader is SIGKILLed halfway, and per setting the records the
producer was told about that the new leader's log no longer holds are counted; the node is then
restarted. A loss with `acks=1` needs the leader to die in the milliseconds between answering
and a follower copying, so it is counted here rather than asserted anywhere.

    python benchmarks/acks_trials.py [trials, default 5]

The last line is one JSON object: per setting, the records told stored and lost in each trial.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from eda_lib import quiet_kafka_logs
from eda_lib.kafka import KafkaBroker
from eda_lib.kafka_local import LocalCluster
from eda_lib.labs.replication import Acks, ReplicationLab, acks_trials

SENT = 2000


async def run(trials: int) -> dict[str, object]:
    quiet_kafka_logs()
    settings: tuple[Acks, ...] = ("all", 1, 0)
    results: dict[str, dict[str, list[int]]] = {
        str(acks): {"told": [], "lost": [], "duplicated": []} for acks in settings
    }
    with LocalCluster(nodes=3) as cluster:
        async with KafkaBroker(cluster.bootstrap) as broker:
            lab = ReplicationLab(cluster, broker, topic="acks-trials")
            await lab.create(min_insync=2)
            began = time.monotonic()
            for round_ in range(trials):  # one kill per round, all settings side by side
                for trial in await acks_trials(lab, settings, sent=SENT, partition=round_ % 3):
                    results[str(trial.acks)]["told"].append(trial.told)
                    results[str(trial.acks)]["lost"].append(trial.lost)
                    results[str(trial.acks)]["duplicated"].append(trial.duplicated)
                    print(
                        f"acks={trial.acks}: told {trial.told}, lost {trial.lost}", file=sys.stderr
                    )
            await lab.wait_for_restart()
    return {
        "benchmark": "acks_trials",
        "trials_per_setting": trials,
        "sent_per_trial": SENT,
        "seconds": round(time.monotonic() - began, 1),
        "lost_total": {acks: sum(r["lost"]) for acks, r in results.items()},
        "trials_with_loss": {acks: sum(1 for n in r["lost"] if n) for acks, r in results.items()},
        "per_trial": results,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(json.dumps(asyncio.run(run(count))))
