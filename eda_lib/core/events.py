"""An event (lesson 01): a fact, in an envelope of id, source, time and subject, written as
CloudEvents 1.0 JSON and read back into its class by its type's name. A kind of event is a
subclass with data fields, a dataclass like its base:

    @dataclass(frozen=True, kw_only=True)
    class PaymentSuccessful(Event):
        payment_id: str
        amount: int  # in minor units: 12000 is 120.00

`eda_lib.Event` does the same with validation, schema versions and lineage.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

ENVELOPE = ("id", "source", "time", "subject")


@dataclass(frozen=True, kw_only=True)
class Event:
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    source: str = "/eda-notebooks"
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    subject: str | None = None  # the message key: the events of one subject stay in order

    classes: ClassVar[dict[str, type[Event]]] = {}  # every kind of event, by its type's name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.classes[cls.__name__] = cls

    def encode(self) -> bytes:
        data = asdict(self)
        envelope = {name: data.pop(name) for name in ENVELOPE}
        cloud_event = {"specversion": "1.0", "type": type(self).__name__, **envelope, "data": data}
        return json.dumps(cloud_event).encode()

    @staticmethod
    def decode(value: bytes) -> Event:
        """The event in `value`; raises if it is not JSON or not an event of a known kind."""
        message = json.loads(value)
        cls = Event.classes[message["type"]]
        known = {f.name for f in fields(cls)}  # a field we do not know is left out
        data = {name: v for name, v in message["data"].items() if name in known}
        return cls(**{name: message[name] for name in ENVELOPE if name in message}, **data)
