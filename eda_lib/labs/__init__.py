"""Small simulations a learner can poke at, in code or through a widget (lessons 02 and 12).

Each lab runs on an `InMemoryBroker` with a virtual clock, so a run prints the same numbers
every time. Labs know nothing of pictures: `eda_lib.viz` draws them.
"""

from eda_lib.labs.backlog import BacklogLab, TickStats
from eda_lib.labs.failure import FailureLab, Semantics
from eda_lib.labs.scenarios import crash_scenario
from eda_lib.labs.scoreboard import LabCounters

__all__ = ["BacklogLab", "FailureLab", "LabCounters", "Semantics", "TickStats", "crash_scenario"]
