"""Self-checking exercises. Each check runs the learner's code against a fresh scenario and
prints a tick with what was right, or a cross with what was wrong and a hint.

`checks` holds what they share (`Check`, `fail`); `lesson00` ... `lesson16` hold the checks of
each lesson. Every check is importable from here: `from eda_lib.exercises import check_...`."""

from eda_lib.exercises.checks import Check, fail
from eda_lib.exercises.lesson00 import check_first_publish, check_invalid_event_is_refused
from eda_lib.exercises.lesson01 import check_large_payment_flagger, check_payment_for_99_95_eur
from eda_lib.exercises.lesson02 import (
    check_audit_group,
    check_award_once,
    check_catch_up_capacity,
    check_useful_members,
)
from eda_lib.exercises.lesson03 import check_auditor, check_sustained_rule
from eda_lib.exercises.lesson04 import check_event_checkout, check_p99
from eda_lib.exercises.lesson05 import check_biggest_withdrawal, check_deposit_limit
from eda_lib.exercises.lesson06 import check_full_change, check_seat_upcaster
from eda_lib.exercises.lesson07 import (
    check_careful_worker,
    check_dead_worker_redelivery,
    check_latest_auditor,
    check_replay_count,
)
from eda_lib.exercises.lesson08 import (
    check_order_collector,
    check_partition_prediction,
    check_restart_offset,
    check_type_header,
)
from eda_lib.exercises.lesson09 import check_cancellation_query, check_retry_on_conflict
from eda_lib.exercises.lesson10 import check_key_function, check_revenue_projection
from eda_lib.exercises.lesson11 import check_auditing_publisher, check_fraud_subscriber
from eda_lib.exercises.lesson12 import (
    check_backoff_policy,
    check_refusing_handler,
    check_semantics_choice,
)
from eda_lib.exercises.lesson13 import check_cases_catch_mutants, check_idempotent_dashboard
from eda_lib.exercises.lesson14 import check_sliding_counts, check_usd_step
from eda_lib.exercises.lesson15 import check_refund, check_unsettled
from eda_lib.exercises.lesson16 import check_safe_topic, check_unwritable

__all__ = [
    "Check",
    "check_audit_group",
    "check_auditing_publisher",
    "check_auditor",
    "check_award_once",
    "check_backoff_policy",
    "check_biggest_withdrawal",
    "check_cancellation_query",
    "check_careful_worker",
    "check_cases_catch_mutants",
    "check_catch_up_capacity",
    "check_dead_worker_redelivery",
    "check_deposit_limit",
    "check_event_checkout",
    "check_first_publish",
    "check_fraud_subscriber",
    "check_full_change",
    "check_idempotent_dashboard",
    "check_invalid_event_is_refused",
    "check_key_function",
    "check_large_payment_flagger",
    "check_latest_auditor",
    "check_order_collector",
    "check_p99",
    "check_partition_prediction",
    "check_payment_for_99_95_eur",
    "check_refund",
    "check_refusing_handler",
    "check_replay_count",
    "check_restart_offset",
    "check_retry_on_conflict",
    "check_revenue_projection",
    "check_safe_topic",
    "check_seat_upcaster",
    "check_semantics_choice",
    "check_sliding_counts",
    "check_sustained_rule",
    "check_type_header",
    "check_unsettled",
    "check_unwritable",
    "check_usd_step",
    "check_useful_members",
    "fail",
]
