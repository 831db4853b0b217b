"""Schema evolution: versions of one event type, upcasters, tolerant readers, and the
compatibility check, which must agree with what the decoder actually does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from eda_lib import Consumer, Event, InMemoryBroker, InvalidEvent, Producer
from eda_lib.codecs import KafkaBinary, StructuredJson, deserialize, serialize
from eda_lib.compatibility import compatibility
from eda_lib.events import (
    MinorUnits,
    NonEmptyStr,
    event_class,
    registered_types,
    schema_versions,
    upcaster,
)
from eda_lib.messaging import HandlerError

# --- one event type in three versions: v2 renames a field and adds one, v3 adds another -------


class ParcelWeighedV1(Event):
    event_type = "ParcelWeighed"
    parcel_id: NonEmptyStr
    grams: MinorUnits


class ParcelWeighedV2(Event):
    event_type = "ParcelWeighed"
    schema_version = 2
    parcel_id: NonEmptyStr
    weight_g: MinorUnits
    scale: str = "front-desk"


class ParcelWeighedV3(Event):
    event_type = "ParcelWeighed"
    schema_version = 3
    parcel_id: NonEmptyStr
    weight_g: MinorUnits
    scale: str = "front-desk"
    note: str | None = None


@upcaster("ParcelWeighed", from_version=1)
def _grams_renamed(data: dict[str, Any]) -> dict[str, Any]:
    data["weight_g"] = data.pop("grams")
    return data


def _as(cls: type[Event], data: bytes) -> Event:
    return deserialize(data, read_as={cls.event_type: cls})


def test_the_newest_version_is_what_a_type_name_means() -> None:
    assert event_class("ParcelWeighed") is ParcelWeighedV3
    assert registered_types()["ParcelWeighed"] is ParcelWeighedV3
    assert schema_versions("ParcelWeighed") == {
        1: ParcelWeighedV1,
        2: ParcelWeighedV2,
        3: ParcelWeighedV3,
    }


def test_old_data_is_upcast_through_every_step() -> None:
    old = ParcelWeighedV1(parcel_id="p-1", grams=1200)
    read = deserialize(serialize(old))
    assert isinstance(read, ParcelWeighedV3)
    assert (read.parcel_id, read.weight_g, read.scale, read.note) == (
        "p-1",
        1200,
        "front-desk",
        None,
    )
    assert read.id == old.id and read.time == old.time  # the same event, read in a newer shape


def test_a_step_that_only_adds_defaulted_fields_needs_no_upcaster() -> None:
    v2 = ParcelWeighedV2(parcel_id="p-2", weight_g=900, scale="warehouse")
    read = deserialize(serialize(v2))
    assert isinstance(read, ParcelWeighedV3)
    assert (read.weight_g, read.scale, read.note) == (900, "warehouse", None)


@pytest.mark.parametrize("codec", [StructuredJson(), KafkaBinary()], ids=lambda c: c.name)
def test_both_codecs_read_as_the_version_asked_for(codec: Any) -> None:
    value, headers = codec.encode(ParcelWeighedV1(parcel_id="p-3", grams=5))
    assert isinstance(codec.decode(value, headers), ParcelWeighedV3)
    as_v1 = codec.decode(value, headers, read_as={"ParcelWeighed": ParcelWeighedV1})
    assert isinstance(as_v1, ParcelWeighedV1) and as_v1.grams == 5


def test_a_tolerant_old_reader_ignores_fields_it_does_not_know() -> None:
    v3 = ParcelWeighedV3(parcel_id="p-4", weight_g=10, note="fragile")
    read = _as(ParcelWeighedV2, serialize(v3))
    assert isinstance(read, ParcelWeighedV2) and read.weight_g == 10


def test_an_old_reader_refuses_a_renamed_field_and_says_how_to_change_safely() -> None:
    v3 = ParcelWeighedV3(parcel_id="p-5", weight_g=10)
    with pytest.raises(InvalidEvent) as caught:
        _as(ParcelWeighedV1, serialize(v3))
    assert caught.value.problem == "unsupported_schema_version"
    assert caught.value.field == "grams"
    assert "ParcelWeighed v3 cannot be read as v1" in str(caught.value)
    assert "forward compatible" in caught.value.fix and "new event type" in caught.value.fix


def test_within_one_version_unknown_fields_are_still_refused() -> None:
    document = json_of(ParcelWeighedV3(parcel_id="p-6", weight_g=10))
    document["data"]["colour"] = "red"
    with pytest.raises(InvalidEvent) as caught:
        deserialize(bytes_of(document))
    assert (caught.value.problem, caught.value.field) == ("invalid_field", "colour")


def test_a_field_removed_in_the_new_version_is_ignored_in_old_data() -> None:
    class BinEmptiedV1(Event):
        event_type = "BinEmptied"
        bin_id: NonEmptyStr
        driver: str

    class BinEmptiedV2(Event):
        event_type = "BinEmptied"
        schema_version = 2
        bin_id: NonEmptyStr

    read = deserialize(serialize(BinEmptiedV1(bin_id="b-1", driver="ana")))
    assert isinstance(read, BinEmptiedV2) and read.bin_id == "b-1"


def test_a_rename_without_an_upcaster_is_refused_with_the_fix() -> None:
    class LabelPrintedV1(Event):
        event_type = "LabelPrinted"
        printer: NonEmptyStr

    class LabelPrintedV2(Event):
        event_type = "LabelPrinted"
        schema_version = 2
        printer_id: NonEmptyStr

    with pytest.raises(InvalidEvent) as caught:
        deserialize(serialize(LabelPrintedV1(printer="p")))
    assert caught.value.problem == "unsupported_schema_version"
    assert caught.value.field == "printer_id"
    assert "@upcaster('LabelPrinted', from_version=1)" in caught.value.fix


def test_an_upcaster_that_fails_makes_the_event_unreadable_not_the_reader() -> None:
    class MeterReadV1(Event):
        event_type = "MeterRead"
        kwh: int

    class MeterReadV2(Event):
        event_type = "MeterRead"
        schema_version = 2
        wh: int

    @upcaster(MeterReadV1, from_version=1)
    def to_wh(data: dict[str, Any]) -> dict[str, Any]:
        return {"wh": data.pop("kwh") * 1000 // data["divisor"]}

    with pytest.raises(InvalidEvent) as caught:
        deserialize(serialize(MeterReadV1(kwh=2)))
    assert caught.value.problem == "unsupported_schema_version"
    assert "to_wh" in str(caught.value) and "KeyError" in str(caught.value)

    @upcaster(MeterReadV1, from_version=1)
    def broken(data: dict[str, Any]) -> dict[str, Any]:
        return None  # type: ignore[return-value]

    with pytest.raises(InvalidEvent, match="returned NoneType"):
        deserialize(serialize(MeterReadV1(kwh=2)))

    @upcaster(MeterReadV1, from_version=1)
    def fixed(data: dict[str, Any]) -> dict[str, Any]:
        return {"wh": data.pop("kwh") * 1000}

    read = deserialize(serialize(MeterReadV1(kwh=2)))
    assert isinstance(read, MeterReadV2) and read.wh == 2000


def test_versions_are_checked_where_they_are_declared() -> None:
    with pytest.raises(TypeError, match="whole numbers from 1"):

        class _Bad(Event):
            event_type = "Versionless"
            schema_version = 0

        class Versionless(_Bad):
            schema_version = 0

    with pytest.raises(TypeError, match="raise schema_version"):

        class OtherParcelWeighed(Event):
            __module__ = "another.service"  # a second module claiming the same version
            event_type = "ParcelWeighed"
            schema_version = 2
            parcel_id: str

    with pytest.raises(TypeError, match="from 1"):
        upcaster("ParcelWeighed", from_version=0)

    document = json_of(ParcelWeighedV1(parcel_id="p", grams=1))
    for bad in (0, -1, "2", 1.5):
        document["schemaversion"] = bad
        with pytest.raises(InvalidEvent) as caught:
            deserialize(bytes_of(document))
        assert (caught.value.problem, caught.value.field) == (
            "unsupported_schema_version",
            "schemaversion",
        )


# --- consumers of two versions share one topic -----------------------------------------------


async def test_a_v1_and_a_v3_consumer_share_one_topic() -> None:
    got: dict[str, list[Event]] = {"old": [], "new": []}

    def old_reader(event: ParcelWeighedV1) -> None:
        got["old"].append(event)

    def new_reader(event: ParcelWeighedV3) -> None:
        got["new"].append(event)

    written = [
        ParcelWeighedV1(parcel_id="a", grams=1),
        ParcelWeighedV3(parcel_id="b", weight_g=2),
        ParcelWeighedV1(parcel_id="c", grams=3),
    ]
    async with InMemoryBroker() as broker:
        await broker.create_topic("parcels")
        await Producer(broker, "scales").send_all("parcels", written)
        for group, handler in (("old", old_reader), ("new", new_reader)):
            async with Consumer(broker, group, "parcels", handler) as consumer:
                await consumer.run(max_events=3)
        parked = await broker.read("parcels.dead-letter", 0)
    assert [(type(e), e.parcel_id) for e in got["new"]] == [(ParcelWeighedV3, p) for p in "abc"]
    assert [e.weight_g for e in got["new"]] == [1, 2, 3]
    assert [(type(e), e.grams) for e in got["old"]] == [(ParcelWeighedV1, 1), (ParcelWeighedV1, 3)]
    assert len(parked) == 1
    reasons = dict(parked[0].headers)
    assert reasons["dlt-reason"] == b"unsupported_schema_version"
    assert reasons["dlt-group"] == b"old"
    assert b"v3 cannot be read as v1" in reasons["dlt-error"]


def test_one_consumer_reads_each_type_as_one_version() -> None:
    def old(event: ParcelWeighedV1) -> None: ...

    def new(event: ParcelWeighedV2) -> None: ...

    with pytest.raises(HandlerError, match="two versions of ParcelWeighed"):
        Consumer(InMemoryBroker(), "g", "t", [old, new])


# --- the compatibility check, rule by rule, against the decoder -------------------------------


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


# --- helpers ----------------------------------------------------------------------------------


def json_of(event: Event) -> dict[str, Any]:
    import json

    parsed: dict[str, Any] = json.loads(serialize(event))
    return parsed


def bytes_of(document: dict[str, Any]) -> bytes:
    import json

    return json.dumps(document).encode()


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


# --- properties: whatever the data, every path keeps what both versions share -----------------

parcel_ids = st.text(min_size=1, max_size=20)
grams = st.integers(min_value=1, max_value=2**40)


@settings(max_examples=60, deadline=None)
@given(parcel_id=parcel_ids, weight=grams)
def test_upcasting_v1_through_v3_keeps_every_value(parcel_id: str, weight: int) -> None:
    old = ParcelWeighedV1(parcel_id=parcel_id, grams=weight)
    for codec in (StructuredJson(), KafkaBinary()):
        read = codec.decode(*codec.encode(old))
        assert isinstance(read, ParcelWeighedV3)
        assert (read.parcel_id, read.weight_g, read.id, read.time) == (
            parcel_id,
            weight,
            old.id,
            old.time,
        )
        as_v2 = codec.decode(*codec.encode(old), read_as={"ParcelWeighed": ParcelWeighedV2})
        assert as_v2.data() == {"parcel_id": parcel_id, "weight_g": weight, "scale": "front-desk"}


@settings(max_examples=60, deadline=None)
@given(
    parcel_id=parcel_ids,
    weight=grams,
    scale=st.text(max_size=10),
    note=st.none() | st.text(max_size=10),
)
def test_tolerant_readers_keep_the_fields_they_share_with_the_writer(
    parcel_id: str, weight: int, scale: str, note: str | None
) -> None:
    newest = ParcelWeighedV3(parcel_id=parcel_id, weight_g=weight, scale=scale, note=note)
    read = _as(ParcelWeighedV2, serialize(newest))
    assert read.data() == {"parcel_id": parcel_id, "weight_g": weight, "scale": scale}
    with pytest.raises(InvalidEvent) as caught:  # v1 needs grams, which v3 renamed
        _as(ParcelWeighedV1, serialize(newest))
    assert caught.value.problem == "unsupported_schema_version"
