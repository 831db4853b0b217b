"""One event type in three versions: v2 renames a field and adds one, v3 adds another; and
reading data as one chosen version."""

from __future__ import annotations

from typing import Any

from eda_lib import Event
from eda_lib.codecs import deserialize
from eda_lib.events import MinorUnits, NonEmptyStr, upcaster


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
