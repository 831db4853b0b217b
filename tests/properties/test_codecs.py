"""What we write, the CloudEvents SDK reads; what the SDK writes, we read."""

from __future__ import annotations

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings

from eda_lib import Event, deserialize, serialize
from tests.properties.strategies import events


@settings(max_examples=200, deadline=None)
@given(events)
def test_the_sdk_parses_what_serialize_writes(event: Event) -> None:
    parsed = JSONFormat().read(None, serialize(event))
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_id() == str(event.id)
    assert parsed.get_type() == event.event_type
    assert parsed.get_source() == event.source
    assert parsed.get_time() == event.time
    assert parsed.get_subject() == event.subject
    assert parsed.get_datacontenttype() == "application/json"
    assert parsed.get_extension("schemaversion") == event.schema_version
    assert parsed.get_data() == event.data()


@settings(max_examples=200, deadline=None)
@given(events)
def test_deserialize_reads_what_the_sdk_writes(event: Event) -> None:
    attributes = {
        "id": str(event.id),
        "source": event.source,
        "type": event.event_type,
        "time": event.time,
        "datacontenttype": "application/json",
        "schemaversion": event.schema_version,
    }
    if event.subject is not None:
        attributes["subject"] = event.subject
    written = JSONFormat().write(CloudEvent(attributes, event.data()))
    assert deserialize(written) == event


@settings(max_examples=300, deadline=None)
@given(events)
def test_deserialize_inverts_serialize(event: Event) -> None:
    assert deserialize(serialize(event)) == event
