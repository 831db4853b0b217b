"""Small simulations a learner can poke at, in code or through a widget (lessons 02, 08, 10, 12
and 14).

The labs run on an `InMemoryBroker` or an in-memory event store with a virtual clock, so a run
prints the same numbers every time; the keying trial runs on either broker. Labs know nothing of
pictures: `eda_lib.viz` draws them.
"""

from eda_lib.labs.backlog import BacklogLab, TickStats
from eda_lib.labs.consistency import ConsistencyRun, LagSample, eventual_consistency
from eda_lib.labs.dashboard import DashboardLab, WindowRow
from eda_lib.labs.failure import FailureLab, Semantics
from eda_lib.labs.growing import Growth, grow_topic
from eda_lib.labs.keying import KeyingTrial, keying_trial, order_history
from eda_lib.labs.live import LiveRun, live_reactions
from eda_lib.labs.scaling import ScalingRun, scale_out
from eda_lib.labs.scenarios import crash_scenario
from eda_lib.labs.scoreboard import LabCounters
from eda_lib.labs.snapshots import replay_cost

__all__ = [
    "BacklogLab",
    "ConsistencyRun",
    "DashboardLab",
    "FailureLab",
    "Growth",
    "KeyingTrial",
    "LabCounters",
    "LagSample",
    "LiveRun",
    "ScalingRun",
    "Semantics",
    "TickStats",
    "WindowRow",
    "crash_scenario",
    "eventual_consistency",
    "grow_topic",
    "keying_trial",
    "live_reactions",
    "order_history",
    "replay_cost",
    "scale_out",
]
