"""Lesson 16's exercise checks: the first accepts the rule Kafka applies and rejects each wrong
idea with the layout that gives it away; the second's judgement of the settings read back from
the cluster refuses each unsafe one saying why; the third accepts the truncation Kafka's
follower applies and refuses each wrong rule with the log that gives it away. (The second's run
on a cluster, which kills a node, is in tests/kafka/test_cluster.py.)"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from eda_lib.exercises.lesson16 import _settings_problem, check_truncation, check_unwritable
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


def test_places_in_the_list_instead_of_partition_numbers_is_wrong() -> None:
    # The right rule, answered with positions: right only while partitions are listed 0, 1, ...
    verdict = check_unwritable(
        lambda ps, node, m: [i for i, p in enumerate(ps) if len(set(p.isr) - {node}) < m]
    )
    assert not verdict.passed
    assert "you said [1], but these could not take an acks=all write: [2]" in verdict.message
    assert "not by its place in the list" in verdict.message


def test_the_success_message_names_both_ways_a_write_is_not_taken() -> None:
    message = check_unwritable(right).message
    assert "refuses the writes (NotEnoughReplicas)" in message
    assert "no leader and the writes wait until they time out" in message


def test_safe_settings_pass_the_settings_check() -> None:
    # The notebook's solution: three replicas, min.insync.replicas=2, acks "all" (or -1).
    for acks in ("all", "-1", -1):
        assert _settings_problem(3, 2, acks, False) is None, acks


def test_each_unsafe_setting_is_refused_saying_why() -> None:
    wrong: dict[tuple[int, int, object, bool], str] = {
        (3, 2, 1, False): "acks=1: the leader answers before any follower has the record",
        (3, 2, "1", False): "acks='1': the leader answers before any follower has the record",
        (3, 2, 0, False): "acks=0: the producer is told nothing",
        (3, 2, "all", True): "unclean.leader.election.enable=true",
        (3, 1, "all", False): "min.insync.replicas=1: with acks=all, a leader",
        (3, 3, "all", False): "every acks=all write is refused",
        (2, 2, "all", False): "replication factor 2",
        (1, 1, "all", False): "the only copy",
    }
    for (factor, min_insync, acks, unclean), why in wrong.items():
        problem = _settings_problem(factor, min_insync, acks, unclean)
        assert problem is not None and why in problem[0], (factor, min_insync, acks, unclean)


def test_acks_is_compared_as_kafkas_producer_config_does() -> None:
    # Kafka's ProducerConfig checks acks with ValidString.in("all", "-1", "0", "1"): exactly.
    for acks in ("ALL", "All", " all", 2, "2", True, None):
        problem = _settings_problem(3, 2, acks, False)
        assert problem is not None, acks
        message, hint = problem
        assert f"acks={acks!r} is not a value Kafka's producer takes" in message, acks
        assert "'all', '-1', '0' or '1'" in message and "lowercase" in hint


def truncate_right(
    mine: Sequence[int], leader_epochs: Mapping[int, int], leader_end: int, high_watermark: int
) -> int:
    # The notebook's solution: Kafka's follower, AbstractFetcherThread.getOffsetTruncationState.
    if not mine:
        return 0
    epoch = max(e for e in leader_epochs if e <= mine[-1])
    leader_leaves = min((s for e, s in leader_epochs.items() if e > epoch), default=leader_end)
    mine_leaves = next((i for i, e in enumerate(mine) if e > epoch), len(mine))
    return min(leader_leaves, mine_leaves)


def one_sided(
    mine: Sequence[int], leader_epochs: Mapping[int, int], leader_end: int, high_watermark: int
) -> int:
    # Where the first later epoch begins in the leader's log: right only while the new leader
    # has the node's last epoch.
    later = [start for epoch, start in leader_epochs.items() if epoch > mine[-1]]
    return min(min(later, default=leader_end), len(mine))


def test_the_truncation_kafka_applies_passes() -> None:
    verdict = check_truncation(truncate_right)
    assert verdict.passed, verdict.message
    assert "right on 7 logs (woken leaders and followers, one empty)" in verdict.message
    assert "and where the node's own log leaves that epoch" in verdict.message


def test_the_longest_common_prefix_of_the_two_logs_passes_too() -> None:
    # The same cut, found offset by offset: where the two logs' epochs first differ.
    def common_prefix(mine: Sequence[int], epochs: Mapping[int, int], end: int, hw: int) -> int:
        theirs = [max(e for e, s in epochs.items() if s <= i) for i in range(end)]
        return next(
            (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
            min(len(mine), end),
        )

    verdict = check_truncation(common_prefix)
    assert verdict.passed, verdict.message


def test_truncating_to_the_high_watermark_is_wrong() -> None:
    verdict = check_truncation(lambda mine, epochs, end, hw: hw)
    assert not verdict.passed
    assert "you cut at offset 8, Kafka at 10" in verdict.message
    assert "that is the node's high watermark" in verdict.message


def test_truncating_to_the_new_leaders_end_is_wrong() -> None:
    verdict = check_truncation(lambda mine, epochs, end, hw: end)
    assert not verdict.passed and "that is the new leader's log end" in verdict.message
    # capped at the node's own end, it keeps the records the new leader never had
    verdict = check_truncation(lambda mine, epochs, end, hw: min(end, len(mine)))
    assert not verdict.passed and "keeps the node's whole log" in verdict.message


def test_keeping_the_whole_log_is_wrong() -> None:
    verdict = check_truncation(lambda mine, epochs, end, hw: len(mine))
    assert not verdict.passed and "keeps the node's whole log" in verdict.message


def test_looking_up_the_next_epoch_number_is_wrong() -> None:
    # Right while epochs follow each other; epoch 3 wrote nothing, so the leader has no 3.
    verdict = check_truncation(lambda mine, epochs, end, hw: min(epochs[mine[-1] + 1], len(mine)))
    assert not verdict.passed
    assert "raised KeyError" in verdict.message and "not 3" in verdict.message
    assert "need not be the last one plus one" in verdict.message


def test_cutting_where_the_leaders_current_epoch_began_is_wrong() -> None:
    # Right with one election; with two, the node's epoch ends where the first later one began.
    verdict = check_truncation(lambda mine, epochs, end, hw: min(epochs[max(epochs)], len(mine)))
    assert not verdict.passed
    assert "you cut at offset 12, Kafka at 10" in verdict.message
    assert "slept through two elections" in verdict.message
    assert "not the leader's current one" in verdict.message


def test_cutting_where_the_last_later_epoch_began_is_wrong() -> None:
    verdict = check_truncation(
        lambda mine, epochs, end, hw: min(
            max((s for e, s in epochs.items() if e > mine[-1]), default=end), len(mine)
        )
    )
    assert not verdict.passed and "you cut at offset 12, Kafka at 10" in verdict.message


def test_the_high_watermark_or_the_current_epoch_whichever_is_later_is_wrong() -> None:
    verdict = check_truncation(
        lambda mine, epochs, end, hw: min(max(hw, epochs[max(epochs)]), len(mine))
    )
    assert not verdict.passed and "you cut at offset 12, Kafka at 10" in verdict.message


def test_ignoring_an_epoch_the_new_leader_never_had_is_wrong() -> None:
    # Right while the new leader has the node's last epoch; here it never had epoch 2.
    verdict = check_truncation(one_sided)
    assert not verdict.passed
    assert "you cut at offset 4, Kafka at 3" in verdict.message
    assert "the new leader has no epoch 2" in verdict.message


def test_forgetting_the_empty_log_is_wrong() -> None:
    def no_empty(mine: Sequence[int], epochs: Mapping[int, int], end: int, hw: int) -> int:
        epoch = max(e for e in epochs if e <= mine[-1])
        leader_leaves = min((s for e, s in epochs.items() if e > epoch), default=end)
        return min(leader_leaves, next((i for i, e in enumerate(mine) if e > epoch), len(mine)))

    verdict = check_truncation(no_empty)
    assert not verdict.passed
    assert "raised IndexError" in verdict.message and "log still empty" in verdict.message
    assert "a log can be empty" in verdict.message


def test_not_capping_at_the_nodes_own_end_is_wrong() -> None:
    verdict = check_truncation(
        lambda mine, epochs, end, hw: min(
            (s for e, s in epochs.items() if e > mine[-1]), default=end
        )
    )
    assert not verdict.passed
    assert "cannot keep records it does not have" in verdict.message


def test_cutting_the_whole_last_epoch_is_wrong() -> None:
    verdict = check_truncation(lambda mine, epochs, end, hw: mine.index(mine[-1]))
    assert not verdict.passed and "you cut at offset 0, Kafka at 10" in verdict.message
