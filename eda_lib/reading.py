"""Reading events across schema versions (lesson 06): the rules `eda_lib.codecs` applies to
every event it decodes, when the data was written as one version of its schema and is read as
another.

- Same version: strict. A field the schema does not have is refused: it is a producer's bug.
- An older version (a v2 reader meets v1 data): the registered upcasters run, one step at a
  time (v1 -> v2 -> v3); a step with no upcaster passes the data on unchanged, which is right
  when the new version only added fields with defaults. Fields the reader's version no longer
  has are ignored.
- A newer version (a v1 reader meets v2 data): a tolerant reader. Fields the reader does not
  know are ignored; nothing is converted, since a v1 service cannot know what v2 changed. If a
  field the reader needs is missing (renamed or removed) the event is refused with an
  `InvalidEvent` that says how to make the change safely.

`eda_lib.compatibility` predicts from two versions' schemas what these rules will do.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from eda_lib.events import ENVELOPE_FIELDS, Event, InvalidEvent, _from_validation, upcaster_for


def data_fields(cls: type[Event]) -> frozenset[str]:
    """The names of an event class's data fields (the envelope left out)."""
    return frozenset(cls.model_fields) - frozenset(ENVELOPE_FIELDS)


def reshape(target: type[Event], data: dict[str, Any], version: int) -> dict[str, Any]:
    """`data`, written as `version` of target's event type, as target's version reads it:
    upcast step by step if it is older, and without the fields target does not have."""
    for step in range(version, target.schema_version):
        upcast = upcaster_for(target.event_type, step)
        if upcast is None:
            continue
        try:
            result: object = upcast(dict(data))
        except Exception as error:
            raise InvalidEvent(
                "unsupported_schema_version",
                f"the upcaster of {target.event_type} from v{step} to v{step + 1} "
                f"({getattr(upcast, '__name__', 'unnamed')}) raised "
                f"{type(error).__name__}: {error}",
                field="data",
                fix="make the upcaster handle this data (it runs on every old event read)",
            ) from None
        if not isinstance(result, dict):
            raise InvalidEvent(
                "unsupported_schema_version",
                f"the upcaster of {target.event_type} from v{step} returned "
                f"{type(result).__name__}, not the data as a dict",
                field="data",
                fix="return the changed data from the upcaster",
            )
        data = result
    known = data_fields(target)
    return {name: value for name, value in data.items() if name in known}


def unreadable(target: type[Event], version: int, error: ValidationError) -> InvalidEvent:
    """Why data of `version` cannot be read as target's version, and how to make it readable."""
    problem = _from_validation(target, error)
    ours = target.schema_version
    if version < ours:
        fix = (
            f"register an upcaster (@upcaster('{target.event_type}', from_version={version}))"
            f" that produces '{problem.field}', or give it a default"
        )
    else:
        fix = (
            f"this reader knows v{ours} only: upgrade it to read v{version}, or make the "
            f"change forward compatible (keep '{problem.field}' beside its replacement until "
            "every reader is upgraded), or publish a new event type"
        )
    return InvalidEvent(
        "unsupported_schema_version",
        f"{target.event_type} v{version} cannot be read as v{ours}: {problem.detail}",
        field=problem.field,
        fix=fix,
    )
