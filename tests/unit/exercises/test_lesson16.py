"""Lesson 16's first exercise check: it accepts the rule Kafka applies and rejects each wrong
idea with the layout that gives it away. (The second, which kills a node, is in
tests/kafka/test_cluster.py.)"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from eda_lib.exercises.lesson16 import check_unwritable
from eda_lib.kafka import PartitionReplicas


def right(partitions: Sequence[PartitionReplicas], node: int, min_insync: int) -> Collection[int]:
    return [p.partition for p in partitions if len(set(p.isr) - {node}) < min_insync]


def test_the_rule_kafka_applies_passes() -> None:
    verdict = check_unwritable(right)
    assert verdict.passed, verdict.message
    assert "fewer than min.insync.replicas" in verdict.message


def test_only_the_leaders_partitions_is_wrong() -> None:
    verdict = check_unwritable(lambda ps, node, m: {p.partition for p in ps if p.leader == node})
    assert not verdict.passed
    assert "two are left, enough for min.insync.replicas=2" in verdict.message


def test_counting_replicas_instead_of_the_isr_is_wrong() -> None:
    verdict = check_unwritable(
        lambda ps, node, m: {p.partition for p in ps if len(set(p.replicas) - {node}) < m}
    )
    assert not verdict.passed
    assert "fallen behind" in verdict.message or "not in sync" in verdict.message


def test_a_rule_that_raises_is_reported_not_crashed() -> None:
    verdict = check_unwritable(lambda ps, node, m: 1 / 0)
    assert not verdict.passed and "ZeroDivisionError" in verdict.message


def test_partitions_whose_isr_holds_the_node_is_wrong() -> None:
    verdict = check_unwritable(lambda ps, node, m: {p.partition for p in ps if node in p.isr})
    assert not verdict.passed
