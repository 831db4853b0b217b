"""The write side of CQRS (lesson 10): commands, and a bus that sends each to its handler.

A command asks for a change ("approve order 42"); it may be refused. An event says a change
happened; it cannot be. A command handler loads the aggregate, calls the command method (which
checks the rules and records events) and saves it. If someone saved the same aggregate in
between, the bus runs the handler again on the fresh state, a bounded number of times.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from eda_lib.sourcing.aggregate import RuleBroken
from eda_lib.store.base import ConcurrencyError, StoredEvent, check_whole


class Command(BaseModel):
    """Base of commands: small, immutable requests for a change, validated when built (a bad
    field raises pydantic's `ValidationError`, naming the field)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


CommandHandler = Callable[[Any], list[StoredEvent]]


class UnknownCommand(TypeError):
    """A command that no handler registered with the bus takes."""


@dataclass(frozen=True)
class CommandOutcome:
    """What became of one command: the events it stored, or why it was refused."""

    command: Command
    events: tuple[StoredEvent, ...] = ()
    refused: str = ""
    attempts: int = 1

    @property
    def accepted(self) -> bool:
        return not self.refused


def command_class(handler: CommandHandler) -> type[Command]:
    """The command class a handler's first parameter is annotated with."""
    parameters = list(inspect.signature(handler, eval_str=True).parameters.values())
    annotation = parameters[0].annotation if parameters else inspect.Parameter.empty
    if not (isinstance(annotation, type) and issubclass(annotation, Command)):
        raise UnknownCommand(
            f"{getattr(handler, '__qualname__', handler)} does not say which command it takes. "
            "Fix: annotate its first parameter, e.g. def approve(command: ApproveOrder)"
        )
    return annotation


class CommandBus:
    """Sends each command to the handler whose annotation names its class, and keeps what
    became of every command in `outcomes`."""

    def __init__(self, *handlers: CommandHandler, retries_on_conflict: int = 2) -> None:
        self.retries_on_conflict = check_whole(retries_on_conflict, "retries_on_conflict", least=0)
        self._handlers: dict[type[Command], CommandHandler] = {}
        self.outcomes: list[CommandOutcome] = []
        for handler in handlers:
            self.register(handler)

    def __repr__(self) -> str:
        names = ", ".join(cls.__name__ for cls in self._handlers)
        return f"CommandBus({names})"

    def register(self, handler: CommandHandler) -> None:
        taken = command_class(handler)
        if taken in self._handlers:
            raise UnknownCommand(
                f"{taken.__name__} already has a handler: a command has exactly one. "
                "Fix: register one handler per command class"
            )
        self._handlers[taken] = handler

    def dispatch(self, command: Command) -> list[StoredEvent]:
        """Run the command's handler and return the events it stored. A broken rule raises
        `RuleBroken` at once: the caller learns now that the command was refused."""
        handler = self._handlers.get(type(command))
        if handler is None:
            known = ", ".join(sorted(cls.__name__ for cls in self._handlers)) or "none"
            raise UnknownCommand(
                f"no handler takes {type(command).__name__} (known: {known}). "
                "Fix: register one with bus.register(handler)"
            )
        for attempt in range(1, self.retries_on_conflict + 2):
            try:
                stored = handler(command)
            except ConcurrencyError as conflict:
                if attempt > self.retries_on_conflict:
                    self.outcomes.append(
                        CommandOutcome(command, refused=str(conflict), attempts=attempt)
                    )
                    raise
                continue
            except RuleBroken as refusal:
                self.outcomes.append(CommandOutcome(command, refused=str(refusal)))
                raise
            self.outcomes.append(CommandOutcome(command, tuple(stored), attempts=attempt))
            return stored
        raise AssertionError("unreachable: the last attempt returns or raises")
