"""`python -m eda_lib.kafka_local.watchdog OWNER_PID`: wait until the process OWNER_PID is gone,
then kill the nodes of the lesson clusters it left behind (see `open_cluster`). A notebook
kernel that is killed outright runs no exit handler; this process outlives it to clean up."""

from __future__ import annotations

import sys
import time

from eda_lib.kafka_local.cluster import sweep_orphans
from eda_lib.kafka_local.tools import pid_alive


def main(owner: int, every: float = 1.0) -> None:
    while pid_alive(owner):
        time.sleep(every)
    sweep_orphans()


if __name__ == "__main__":
    main(int(sys.argv[1]))
