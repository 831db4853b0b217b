"""Where the copies of two partitions are after node 1 of three died."""

from __future__ import annotations

from eda_lib.kafka import PartitionReplicas

AFTER_NODE_1_DIED = [
    PartitionReplicas("pay", 0, 2, (1, 2, 3), (2, 3)),
    PartitionReplicas("pay", 1, 2, (2, 3, 1), (2, 3)),
    PartitionReplicas("pay", 2, 3, (3, 1, 2), (3, 2)),
]
