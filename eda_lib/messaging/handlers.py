"""Typed handlers (lessons 01 and 06): a handler says which events it takes by the annotation of
its one parameter, and a consumer hands it only those.

    async def ship(event: PaymentSuccessful) -> None: ...      # PaymentSuccessful only
    def audit(event: Event) -> None: ...                       # every event
    def refuse(event: PaymentFailed | OrderCancelled) -> None: ...   # either

Each event goes to the one handler whose class is nearest to the event's own (as with
`functools.singledispatch`); a handler without an annotation (a lambda, say), or annotated
`Any` or `object`, takes every event.
Events no handler takes are skipped and committed (the trace calls them 'ignored').

A handler annotated with an older version of an event type (lesson 06) gets that type's events
read as that version, as a service that knows no newer one would read them.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from eda_lib.events import Event, schema_versions

Handler = Callable[[Any], Awaitable[None] | None]
"""A function (or coroutine function) of one event. Its annotation picks the events it gets."""


class HandlerError(TypeError):
    """A handler that cannot be registered: the message says which and how to fix it."""


def _describe(handler: object) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__name__


def event_classes(handler: Handler) -> tuple[type[Event], ...]:
    """The event classes `handler` takes, from the annotation of its event parameter."""
    name = _describe(handler)
    try:
        # eval_str: annotations written as strings (`from __future__ import annotations`) are
        # resolved where the handler was defined, partials and bound methods included.
        signature = inspect.signature(handler, eval_str=True)
    except (NameError, SyntaxError) as error:
        raise HandlerError(
            f"an annotation of {name} cannot be resolved ({error}). Fix: define the event "
            "class before the handler, or import it where the handler is"
        ) from None
    except (TypeError, ValueError):
        raise HandlerError(f"{name} is not a function a consumer can call with an event") from None
    parameters = signature.parameters.values()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.default is p.empty and p.kind in positional]
    keyword_only = [p.name for p in parameters if p.default is p.empty and p.kind is p.KEYWORD_ONLY]
    if len(required) != 1 or keyword_only:
        raise HandlerError(
            f"{name} requires {len(required) + len(keyword_only)} arguments; a handler takes "
            "one, the event. Fix: `def handle(event: PaymentSuccessful) -> None: ...` (give "
            "anything else a default, or bind it first with functools.partial)"
        )
    annotation = required[0].annotation
    if typing.get_origin(annotation) is typing.Annotated:  # Annotated[PaymentSuccessful, ...]
        annotation = typing.get_args(annotation)[0]
    if annotation in (inspect.Parameter.empty, Any, object):
        return (Event,)
    members = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    for member in members:
        if not (isinstance(member, type) and issubclass(member, Event)):
            raise HandlerError(
                f"{name} takes '{required[0].name}: {getattr(member, '__name__', member)}', "
                "which is not an event class. Fix: annotate it with the eda_lib Event subclass "
                "it handles (e.g. PaymentSuccessful), or with Event to take every event"
            )
    return tuple(members)


class Handlers(dict[type[Event], Handler | None]):
    """The handlers of one consumer, by the event class each takes; at most one per class.
    `handlers[type(event)]` is the handler for an event: the one whose class comes first in
    the event class's MRO (None if there is none). A class a handler names is in the mapping
    from the start; any other is looked up through its MRO once, then remembered."""

    def __init__(self, handlers: Sequence[Handler]) -> None:
        super().__init__()
        self.registered: dict[type[Event], Handler] = {}
        self.read_as: dict[str, type[Event]] = {}
        for handler in handlers:
            for cls in event_classes(handler):
                self._read(cls)
                taken = self.registered.get(cls)
                if taken is not None:
                    raise HandlerError(
                        f"{_describe(taken)} and {_describe(handler)} both take {cls.__name__}: "
                        "a consumer runs one handler per event. Fix: give the second reaction "
                        "a consumer group of its own (each group gets every event)"
                    )
                self.registered[cls] = handler
        self.update(self.registered)

    def _read(self, cls: type[Event]) -> None:
        if schema_versions(getattr(cls, "event_type", "")).get(cls.schema_version) is not cls:
            return  # Event itself, or a base class that is not an event type of its own
        chosen = self.read_as.setdefault(cls.event_type, cls)
        if chosen is not cls:
            raise HandlerError(
                f"handlers of one consumer take {chosen.__name__} and {cls.__name__}, two "
                f"versions of {cls.event_type}; a consumer reads each type as one version. "
                "Fix: annotate them with the same version"
            )

    def __missing__(self, cls: type[Event]) -> Handler | None:
        found = next((self.registered[c] for c in cls.__mro__ if c in self.registered), None)
        self[cls] = found
        return found
