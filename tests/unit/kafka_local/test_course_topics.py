"""The course's topics, without a broker: which are missing, the line `make kafka` prints, and a
broker that does not answer named."""

from __future__ import annotations

import pytest

from eda_lib.kafka_local import KafkaSetupError
from eda_lib.kafka_local.course_topics import (
    COURSE_TOPICS,
    announce,
    create_course_topics,
    missing,
)
from eda_lib.kafka_local.tools import free_port


def test_the_course_topics_are_the_six_its_programs_use() -> None:
    assert COURSE_TOPICS == (
        "bedaig-topic",
        "order-events",
        "orders",
        "payment-update",
        "example-topic",
        "test-topic",
    )


def test_missing_keeps_the_course_order_and_ignores_other_topics() -> None:
    assert missing([]) == list(COURSE_TOPICS)
    assert missing(["orders", "__consumer_offsets", "payments", "bedaig-topic"]) == [
        "order-events",
        "payment-update",
        "example-topic",
        "test-topic",
    ]
    assert missing(COURSE_TOPICS) == []


def test_the_line_names_what_was_created_and_what_was_there() -> None:
    assert announce(list(COURSE_TOPICS)) == (
        "created the course's topics (1 partition each): bedaig-topic, order-events, orders, "
        "payment-update, example-topic, test-topic"
    )
    assert announce(["test-topic"]) == (
        "created the course's topics (1 partition each): test-topic; already there: "
        "bedaig-topic, order-events, orders, payment-update, example-topic"
    )
    assert announce([]) == (
        "the course's topics were already there: bedaig-topic, order-events, orders, "
        "payment-update, example-topic, test-topic"
    )


def test_a_broker_that_does_not_answer_is_named() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(KafkaSetupError, match="could not list the broker's topics"):
        create_course_topics(bootstrap, timeout=1.0)
