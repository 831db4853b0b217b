"""A consumer as the course's Go programs write one, in Python, to be killed (lesson 08).

    python -m eda_lib.kafka.course_consumer BOOTSTRAP TOPIC GROUP auto|manual

It joins GROUP with librdkafka's settings (`confluent_kafka`, the library under the course's
confluent-kafka-go), polls one message and reports on stdout, a JSON object a line:
`{"polled": offset}` when librdkafka hands the message over, then `{"committed": offset or null}`,
the group's committed offset just before it would handle the message. Then it takes its time
handling (a minute), so a test or a lesson can kill it there with SIGKILL, as a crash or a
`kill -9` would.

- `auto` is the course's way: `enable.auto.commit` and `enable.auto.offset.store` left on, so
  librdkafka stores the offset as it hands the message over and commits it from a background
  thread (every `auto.commit.interval.ms`, here 100 ms). It waits until the commit has passed the
  message: killed now, the message was never handled, and the group will not read it again.
- `manual` turns auto-commit off and commits with `commit(message)` only after handling, as
  `CommitMessage` does in Go: killed before that, nothing is committed and the message comes again.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

POLL_LIMIT_S = 30.0
"""How long to wait for a first message before giving up (the run is bounded)."""
COMMIT_WAIT_S = 10.0
"""How long `auto` waits for its background commit to pass the message."""
HANDLING_S = 60.0
"""How long handling takes: long enough to be killed in the middle of it."""


def say(what: dict[str, Any]) -> None:
    print(json.dumps(what), flush=True)


def first_message(consumer: Consumer) -> Message:
    deadline = time.monotonic() + POLL_LIMIT_S
    while time.monotonic() < deadline:
        message = consumer.poll(0.1)  # Python's timeouts are seconds; Go's Poll takes ms
        if message is not None and message.error() is None:
            return message
    raise SystemExit(f"no message within {POLL_LIMIT_S:.0f} s")


def committed(consumer: Consumer, topic: str, partition: int) -> int | None:
    where = TopicPartition(topic, partition)
    offset = consumer.committed([where], timeout=10)[0].offset
    return offset if offset >= 0 else None  # librdkafka says -1001 for "nothing committed"


def main(bootstrap: str, topic: str, group: str, commit: str) -> None:
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",  # as the course's consumers set it
        "log_level": 4,
    }
    if commit == "auto":
        settings["auto.commit.interval.ms"] = 100  # 5000 by default: shortened to see it
    else:
        settings["enable.auto.commit"] = False
    consumer = Consumer(settings)
    consumer.subscribe([topic])
    message = first_message(consumer)
    offset, partition = message.offset() or 0, message.partition() or 0
    say({"polled": offset})
    seen = committed(consumer, topic, partition)
    deadline = time.monotonic() + (COMMIT_WAIT_S if commit == "auto" else 0.5)
    while time.monotonic() < deadline and (seen is None or seen <= offset):
        time.sleep(0.05)
        seen = committed(consumer, topic, partition)
    say({"committed": seen})
    time.sleep(HANDLING_S)  # handling the message; a kill lands here
    if commit == "manual":
        consumer.commit(message=message, asynchronous=False)
    consumer.close()


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in ("auto", "manual"):
        raise SystemExit(__doc__.split("\n\n")[1])
    main(*sys.argv[1:])
