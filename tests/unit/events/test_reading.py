"""Reading across schema versions: versions of one event type, upcasters, and tolerant readers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eda_lib import Consumer, Event, InMemoryBroker, InvalidEvent, Producer
from eda_lib.codecs import KafkaBinary, StructuredJson, deserialize, serialize
from eda_lib.events import NonEmptyStr, event_class, registered_types, schema_versions, upcaster
from eda_lib.messaging import HandlerError
from tests.unit.events.parcels import ParcelWeighedV1, ParcelWeighedV2, ParcelWeighedV3, _as


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
            async with Consumer(broker, group, "parcels", handler, start="earliest") as consumer:
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
        Consumer(InMemoryBroker(), "g", "t", [old, new], start="earliest")


def json_of(event: Event) -> dict[str, Any]:
    import json

    parsed: dict[str, Any] = json.loads(serialize(event))
    return parsed


def bytes_of(document: dict[str, Any]) -> bytes:
    import json

    return json.dumps(document).encode()


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
