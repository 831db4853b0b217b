"""CQRS (lesson 10): commands on the write side, projections building read models on the read
side, and a time machine over the store's global order."""

from eda_lib.cqrs.commands import Command, CommandBus, CommandOutcome, UnknownCommand
from eda_lib.cqrs.projections import Projection, Projector, SQLiteProjection
from eda_lib.cqrs.timetravel import Moment, TimeTravel

__all__ = [
    "Command",
    "CommandBus",
    "CommandOutcome",
    "Moment",
    "Projection",
    "Projector",
    "SQLiteProjection",
    "TimeTravel",
    "UnknownCommand",
]
