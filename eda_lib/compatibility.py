"""Schema compatibility (lesson 06): checking a change to an event's schema the way teams
check it with a schema registry.

`compatibility(old, new)` predicts from the two versions' JSON Schemas (and the upcasters
between them) what the reading rules of `eda_lib.reading` will do, in the schema-registry words:
BACKWARD (a reader of the new version reads data of the old), FORWARD (a reader of the old
version reads data of the new), FULL (both) or NONE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eda_lib.codecs import deserialize, serialize
from eda_lib.events import Event, InvalidEvent, upcaster_for
from eda_lib.reading import data_fields

Level = Literal["FULL", "BACKWARD", "FORWARD", "NONE"]


def data_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema of an event class's data (the part a schema registry would hold)."""
    schema = cls.model_json_schema()
    names = data_fields(cls)
    return {
        "title": f"{cls.event_type} v{cls.schema_version}",
        "type": "object",
        "properties": {k: v for k, v in schema.get("properties", {}).items() if k in names},
        "required": [name for name in schema.get("required", ()) if name in names],
    }


@dataclass(frozen=True)
class Compatibility:
    """How two versions of an event type can be mixed, with the reasons when they cannot."""

    old: type[Event]
    new: type[Event]
    backward_problems: tuple[str, ...]
    forward_problems: tuple[str, ...]

    @property
    def backward(self) -> bool:
        """Readers of the new version read old data: upgrade the consumers first."""
        return not self.backward_problems

    @property
    def forward(self) -> bool:
        """Readers of the old version read new data: upgrade the producers first."""
        return not self.forward_problems

    @property
    def level(self) -> Level:
        if self.backward and self.forward:
            return "FULL"
        if self.backward:
            return "BACKWARD"
        return "FORWARD" if self.forward else "NONE"

    def __str__(self) -> str:
        name = self.new.event_type
        lines = [f"{name} v{self.old.schema_version} -> v{self.new.schema_version}: {self.level}"]
        lines += [f"  not BACKWARD: {why}" for why in self.backward_problems]
        lines += [f"  not FORWARD: {why}" for why in self.forward_problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Field:
    """One data field as a schema sees it: its JSON Schema and whether it must be present."""

    schema: Any
    required: bool


def _fields(cls: type[Event]) -> dict[str, _Field]:
    schema = cls.model_json_schema()
    required = set(schema.get("required", ()))
    properties: dict[str, Any] = schema.get("properties", {})
    return {
        name: _Field(_cleaned(properties[name]), name in required)
        for name in sorted(data_fields(cls))
    }


_NOT_ABOUT_VALUES = frozenset({"title", "description", "default", "examples"})
_AT_LEAST = ("minimum", "exclusiveMinimum", "minLength", "minItems")  # a reader's lower bounds
_AT_MOST = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")


def _cleaned(schema: Any) -> Any:
    """A field's JSON Schema without the parts that do not change which values are valid."""
    if isinstance(schema, dict):
        return {k: _cleaned(v) for k, v in schema.items() if k not in _NOT_ABOUT_VALUES}
    if isinstance(schema, list):
        return [_cleaned(item) for item in schema]
    return schema


def _accepts(reader: Any, writer: Any) -> bool:
    """Whether every value valid under `writer` is valid under `reader`, as far as these
    common keywords tell (when unsure, no: the check errs on the safe side)."""
    if reader == writer:
        return True
    if not (isinstance(reader, dict) and isinstance(writer, dict)):
        return False
    if "anyOf" in writer:
        return all(_accepts(reader, branch) for branch in writer["anyOf"])
    if "anyOf" in reader:
        return any(_accepts(branch, writer) for branch in reader["anyOf"])
    kinds = (reader.get("type"), writer.get("type"))
    if kinds[0] != kinds[1] and kinds != ("number", "integer"):  # an int is a valid number
        return False
    for key in set(reader) | set(writer):
        mine, theirs = reader.get(key), writer.get(key)
        if key == "type" or mine is None:
            continue  # the reader sets no limit of this kind
        if theirs is None:
            return False  # the reader limits what the writer does not
        if key in _AT_LEAST and not theirs >= mine:
            return False
        if key in _AT_MOST and not theirs <= mine:
            return False
        if key not in _AT_LEAST + _AT_MOST and mine != theirs:
            return False
    return True


class _Carried:
    """A stand-in for a field's value, to see where an upcaster moves it."""

    def __init__(self, name: str) -> None:
        self.name = name


def _upcast_names(old: type[Event], new: type[Event]) -> dict[str, str] | None:
    """Which old field each field of the upcast data came from ('' for a value the upcasters
    made), or None when an upcaster does more than move, add and drop fields."""
    data: dict[str, Any] = {name: _Carried(name) for name in data_fields(old)}
    for step in range(old.schema_version, new.schema_version):
        upcast = upcaster_for(new.event_type, step)
        if upcast is None:
            continue
        try:
            result: object = upcast(data)
        except Exception:
            return None
        if not isinstance(result, dict):
            return None
        data = result
    return {key: value.name if isinstance(value, _Carried) else "" for key, value in data.items()}


def compatibility(
    old: type[Event], new: type[Event], *, examples: Sequence[Event] = ()
) -> Compatibility:
    """Whether a reader of `new` reads data written as `old` (BACKWARD, upcasters counted) and
    whether a reader of `old` reads data written as `new` (FORWARD, by tolerant reading).

    An upcaster that computes values (rather than moving, adding and dropping fields) cannot be
    judged from the schemas: give `examples` of old events, and BACKWARD is decided by reading
    each of them as `new` with the decoder."""
    if old.event_type != new.event_type or old.schema_version >= new.schema_version:
        raise ValueError(
            "compatibility(old, new) compares two versions of one event type, the older "
            f"first; got {old.event_type} v{old.schema_version} and "
            f"{new.event_type} v{new.schema_version}"
        )
    before, after = _fields(old), _fields(new)
    backward: list[str] = []
    sources = _upcast_names(old, new)
    if sources is None:
        backward += _tried(new, examples)
    else:
        for name, field in after.items():
            source = sources.get(name)
            if source is None:
                if field.required:
                    backward.append(
                        f"'{name}' is required in v{new.schema_version} and has no default, "
                        f"and v{old.schema_version} data has no '{name}'"
                    )
            elif source and not _accepts(field.schema, before[source].schema):
                backward.append(_changed(source, name, old, new))
    renamed = {
        source: name for name, source in (sources or {}).items() if source and source != name
    }
    forward = [
        f"v{old.schema_version} requires '{name}', which v{new.schema_version} data "
        "does not have (renamed or removed)"
        for name, field in before.items()
        if field.required and name not in after
    ]
    forward += [
        f"'{name}' became '{renamed[name]}': a v{old.schema_version} reader would silently "
        f"take the default of '{name}' instead of the value"
        for name, field in before.items()
        if not field.required and name not in after and name in renamed
    ]
    forward += [
        _changed(name, name, new, old)
        for name in before
        if name in after and not _accepts(before[name].schema, after[name].schema)
    ]
    return Compatibility(old, new, tuple(backward), tuple(forward))


def _tried(new: type[Event], examples: Sequence[Event]) -> list[str]:
    if not examples:
        return ["an upcaster computes values: pass examples=[...] of old events to check it"]
    problems = []
    for example in examples:
        try:
            deserialize(serialize(example), read_as={new.event_type: new})
        except InvalidEvent as error:
            problems.append(f"example {example.id}: {error}")
    return problems


def _changed(source: str, name: str, writer: type[Event], reader: type[Event]) -> str:
    moved = f"'{source}' (read as '{name}')" if source != name else f"'{name}'"
    return (
        f"{moved} changed its type or limits, so a v{reader.schema_version} reader may refuse "
        f"some v{writer.schema_version} values"
    )
