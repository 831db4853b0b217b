"""The compatibility check: the level it names for a change (FULL, BACKWARD, FORWARD, NONE) must
agree with what the decoder actually does."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import Field

from eda_lib import Event, InvalidEvent
from eda_lib.codecs import serialize
from eda_lib.compatibility import compatibility
from eda_lib.events import upcaster
from tests.unit.events.parcels import ParcelWeighedV1, ParcelWeighedV2, ParcelWeighedV3, _as


class _Pair:
    """Two versions of a type made for one rule, and a sample of each."""

    def __init__(self, old: Event, new: Event) -> None:
        self.old, self.new = old, new


def _pairs() -> dict[str, tuple[_Pair, str]]:
    class AddedV1(Event):
        event_type = "RuleAdded"
        a: int

    class AddedV2(Event):
        event_type = "RuleAdded"
        schema_version = 2
        a: int
        b: str = "x"

    class RequiredV1(Event):
        event_type = "RuleRequired"
        a: int

    class RequiredV2(Event):
        event_type = "RuleRequired"
        schema_version = 2
        a: int
        b: str

    class RenamedV1(Event):
        event_type = "RuleRenamed"
        a: int

    class RenamedV2(Event):
        event_type = "RuleRenamed"
        schema_version = 2
        b: int

    class UpcastV1(Event):
        event_type = "RuleUpcast"
        a: int

    class UpcastV2(Event):
        event_type = "RuleUpcast"
        schema_version = 2
        b: int

    @upcaster(UpcastV1, from_version=1)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        data["b"] = data.pop("a")
        return data

    class TypedV1(Event):
        event_type = "RuleTyped"
        a: int

    class TypedV2(Event):
        event_type = "RuleTyped"
        schema_version = 2
        a: str

    class RemovedV1(Event):
        event_type = "RuleRemoved"
        a: int
        b: int

    class RemovedV2(Event):
        event_type = "RuleRemoved"
        schema_version = 2
        a: int

    class OptionalGoneV1(Event):
        event_type = "RuleOptionalGone"
        a: int
        b: int = 0

    class OptionalGoneV2(Event):
        event_type = "RuleOptionalGone"
        schema_version = 2
        a: int

    class DefaultedV1(Event):
        event_type = "RuleDefaulted"
        a: int

    class DefaultedV2(Event):
        event_type = "RuleDefaulted"
        schema_version = 2
        a: int = 1

    class WidenedV1(Event):
        event_type = "RuleWidened"
        a: int

    class WidenedV2(Event):
        event_type = "RuleWidened"
        schema_version = 2
        a: float

    class LimitedV1(Event):
        event_type = "RuleLimited"
        a: int

    class LimitedV2(Event):
        event_type = "RuleLimited"
        schema_version = 2
        a: int = Field(ge=1)

    class NullableV1(Event):
        event_type = "RuleNullable"
        a: str

    class NullableV2(Event):
        event_type = "RuleNullable"
        schema_version = 2
        a: str | None

    class MovedDefaultV1(Event):
        event_type = "RuleMovedDefault"
        nights: int = 1

    class MovedDefaultV2(Event):
        event_type = "RuleMovedDefault"
        schema_version = 2
        nights_count: int = 1

    @upcaster(MovedDefaultV1, from_version=1)
    def count(data: dict[str, Any]) -> dict[str, Any]:
        data["nights_count"] = data.pop("nights")
        return data

    return {
        "a default for a field": (_Pair(DefaultedV1(a=5), DefaultedV2(a=5)), "FULL"),
        "int widened to float": (_Pair(WidenedV1(a=5), WidenedV2(a=5.5)), "BACKWARD"),
        "a limit added": (_Pair(LimitedV1(a=0), LimitedV2(a=5)), "FORWARD"),
        "made nullable": (_Pair(NullableV1(a="x"), NullableV2(a=None)), "BACKWARD"),
        "defaulted field renamed": (
            _Pair(MovedDefaultV1(nights=5), MovedDefaultV2(nights_count=5)),
            "BACKWARD",
        ),
        "added with a default": (_Pair(AddedV1(a=1), AddedV2(a=1, b="y")), "FULL"),
        "added, required": (_Pair(RequiredV1(a=1), RequiredV2(a=1, b="y")), "FORWARD"),
        "renamed, no upcaster": (_Pair(RenamedV1(a=1), RenamedV2(b=1)), "NONE"),
        "renamed, upcaster": (_Pair(UpcastV1(a=1), UpcastV2(b=1)), "BACKWARD"),
        "type changed": (_Pair(TypedV1(a=1), TypedV2(a="one")), "NONE"),
        "required removed": (_Pair(RemovedV1(a=1, b=2), RemovedV2(a=1)), "BACKWARD"),
        "optional removed": (_Pair(OptionalGoneV1(a=1, b=2), OptionalGoneV2(a=1)), "FULL"),
    }


PAIRS = _pairs()


def _reads(reader: type[Event], written: Event) -> bool:
    """Whether `reader` reads `written` with every shared value intact (a default standing in
    for a value that was sent is a wrong reading, not a reading)."""
    try:
        read = _as(reader, serialize(written))
    except InvalidEvent:
        return False
    sent = written.data()
    kept = {k: v for k, v in read.data().items() if k in sent}
    renamed = {"nights": "nights_count"}  # the one rename among the pairs
    for old_name, new_name in renamed.items():
        if old_name in read.data() and new_name in sent:
            kept[new_name] = read.data()[old_name]
    return isinstance(read, reader) and all(sent[k] == v for k, v in kept.items())


@pytest.mark.parametrize("rule", sorted(PAIRS))
def test_the_check_names_the_level_and_agrees_with_the_decoder(rule: str) -> None:
    pair, level = PAIRS[rule]
    old, new = type(pair.old), type(pair.new)
    verdict = compatibility(old, new)
    assert verdict.level == level, str(verdict)
    assert verdict.backward == _reads(new, pair.old)
    assert verdict.forward == _reads(old, pair.new)
    assert bool(verdict.backward_problems) != verdict.backward
    assert str(verdict).startswith(f"{old.event_type} v1 -> v2: {level}")


def test_the_check_says_why() -> None:
    reasons = {rule: str(compatibility(type(p.old), type(p.new))) for rule, (p, _) in PAIRS.items()}
    assert "'b' is required in v2 and has no default" in reasons["added, required"]
    assert "v1 requires 'a', which v2 data does not have" in reasons["renamed, no upcaster"]
    assert "'a' changed its type or limits" in reasons["type changed"]
    assert "changed" not in reasons["renamed, upcaster"]  # moved, same type: no complaint


def test_an_upcaster_that_computes_values_is_left_to_a_test() -> None:
    class ScoreV1(Event):
        event_type = "RuleScore"
        points: int

    class ScoreV2(Event):
        event_type = "RuleScore"
        schema_version = 2
        percent: int

    @upcaster(ScoreV1, from_version=1)
    def scaled(data: dict[str, Any]) -> dict[str, Any]:
        return {"percent": data["points"] * 10}

    verdict = compatibility(ScoreV1, ScoreV2)
    assert not verdict.backward and "pass examples=[...]" in str(verdict)
    tried = compatibility(ScoreV1, ScoreV2, examples=[ScoreV1(points=3), ScoreV1(points=0)])
    assert tried.backward and tried.level == "BACKWARD"
    assert _reads(ScoreV2, ScoreV1(points=3))

    @upcaster(ScoreV1, from_version=1)
    def broken(data: dict[str, Any]) -> dict[str, Any]:
        return {"percent": 100 // data["points"]}

    failing = compatibility(ScoreV1, ScoreV2, examples=[ScoreV1(points=3), ScoreV1(points=0)])
    assert not failing.backward and "ZeroDivisionError" in str(failing)


def test_the_check_compares_versions_in_order() -> None:
    with pytest.raises(ValueError, match="the older first"):
        compatibility(ParcelWeighedV2, ParcelWeighedV1)


def test_a_subclass_that_raises_the_version_is_the_next_version_of_the_same_type() -> None:
    class ParcelWeighedV4(ParcelWeighedV3):
        schema_version = 4
        label: str = ""

    class ParcelReweighed(ParcelWeighedV3):  # no new version: a type of its own
        pass

    try:
        assert ParcelWeighedV4.event_type == "ParcelWeighed"
        assert compatibility(ParcelWeighedV3, ParcelWeighedV4).level == "FULL"
        assert ParcelReweighed.event_type == "ParcelReweighed"
    finally:
        from eda_lib.events import _REGISTRY

        del _REGISTRY["ParcelWeighed"][4]  # the other tests read the newest as v3
