"""Connecting to a secured Kafka cluster: a lesson runs on it, and connections that cannot work
fail fast in one line that names the cause and the fix, with a password that shows nowhere.

These tests start a Kafka node of their own with SASL_SSL and mutual-TLS listeners (see
`tests.kafka.secure_kafka`). The settings themselves are tested without a broker in
`tests/unit/kafka/test_security.py`.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from eda_lib import InMemoryBroker, open_broker
from eda_lib.kafka import HIDDEN, KafkaBroker, KafkaConnectError, KafkaSecurity
from eda_lib.kafka_local import KafkaSetupError
from tests.conftest import _cannot_run_kafka
from tests.kafka.secure_kafka import USER, SecureKafka, missing_tools, start_secure_kafka

FAST_S = 5.0  # "fails fast": aiokafka on its own waits up to 40 s


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    missing = missing_tools()
    if missing:
        _cannot_run_kafka(
            f"the secure Kafka tests need {' and '.join(missing)} (a JDK 17 or newer) to make "
            "certificates and start a broker"
        )
    try:
        cluster = start_secure_kafka(tmp_path_factory.mktemp("secure-kafka"))
    except KafkaSetupError as error:
        _cannot_run_kafka(f"the secured local Kafka broker did not start: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture
def secure_env(secure: SecureKafka, monkeypatch: pytest.MonkeyPatch) -> SecureKafka:
    """The environment a learner sets for the secured cluster (SCRAM-SHA-256)."""
    for name, value in {
        "KAFKA_BOOTSTRAP": secure.sasl_ssl,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": secure.password,
        "KAFKA_SSL_CAFILE": str(secure.certificates.ca),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("KAFKA_SSL_CERTFILE", "KAFKA_SSL_KEYFILE", "EDA_REQUIRE_KAFKA"):
        monkeypatch.delenv(name, raising=False)
    return secure


def shows_no_password(
    password: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    *more: str,
    typed: str | None = None,
) -> str:
    """What the test printed to stdout; fails if the password (or the one the client `typed`,
    when it was wrong) is in it, in stderr, in any log record or in `more`."""
    said = capsys.readouterr()
    for text in (said.out, said.err, caplog.text, *more):
        assert password not in text
        assert typed is None or typed not in text
    return said.out


@pytest.mark.kafka
@pytest.mark.secure
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_a_lesson_runs_on_the_secured_cluster(
    secure_env: SecureKafka,
    mechanism: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from eda_lib import Consumer, PaymentSuccessful, Producer

    caplog.set_level(logging.DEBUG, logger="aiokafka")  # its debug log shows request payloads
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", mechanism)
    monkeypatch.setenv("EDA_REQUIRE_KAFKA", "1")
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    broker = await open_broker("kafka", fresh=[topic])
    try:
        assert isinstance(broker, KafkaBroker)
        await broker.create_topic(topic, partitions=2)
        await Producer(broker, "payment-service").send(
            topic, PaymentSuccessful(payment_id="p1", order_id="o1", amount=100, currency="usd")
        )
        got: list[str] = []
        async with Consumer(
            broker, "shipping", topic, lambda e: got.append(e.payment_id), start="earliest"
        ) as c:
            await c.run(max_events=1, timeout=20)
        state = await broker.describe([topic])
        trace = broker.trace.table(last=100)
    finally:
        await broker.close()
    assert got == ["p1"]
    [shipping] = [g for g in state.groups if g.group == "shipping"]
    assert sum(shipping.committed.values()) == 1 and shipping.total_lag == 0
    out = shows_no_password(secure_env.password, capsys, caplog, trace, repr(broker.security))
    assert out.splitlines() == [
        f"Using Kafka at {secure_env.sasl_ssl} (from KAFKA_BOOTSTRAP; SASL_SSL, {mechanism} as "
        f"{USER}, CA {secure_env.certificates.ca})."
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert any(f"Authenticated as {USER} via {mechanism}" in m for m in logged)
    if mechanism == "PLAIN":  # aiokafka logs PLAIN's payload, password and all: hidden here
        assert any("SaslAuthenticate" in m and HIDDEN in m for m in logged)


UNWORKABLE: dict[str, tuple[Any, ...]] = {  # case: (what is set, *what the one line says)
    "wrong password": (
        {"KAFKA_SASL_PASSWORD": "not-" + uuid.uuid4().hex[:6]},
        "SASL authentication failed for user 'alice' with SCRAM-SHA-256 (Kafka said: "
        "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism SCRAM-SHA-256). Fix: check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
    ),
    "missing CA": (  # OpenSSL's own words (in the parentheses) vary between its versions
        {"KAFKA_SSL_CAFILE": ""},
        "TLS certificate verify failed (",
        "): the system's CAs (KAFKA_SSL_CAFILE is not set) did not sign the broker's "
        "certificate. Fix: set KAFKA_SSL_CAFILE to the cluster's CA certificate",
    ),
    "wrong CA": (
        {"KAFKA_SSL_CAFILE": "{other_ca}"},
        "TLS certificate verify failed (",
        "): the CA in KAFKA_SSL_CAFILE={other_ca} did not sign the broker's certificate. "
        "Fix: set KAFKA_SSL_CAFILE",
    ),
    "plaintext client": (
        {
            "KAFKA_SECURITY_PROTOCOL": "",
            "KAFKA_SASL_MECHANISM": "",
            "KAFKA_SASL_USERNAME": "",
            "KAFKA_SASL_PASSWORD": "",
            "KAFKA_SSL_CAFILE": "",
        },
        "the listener speaks SASL_SSL, and this client PLAINTEXT. Fix: set "
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL, with KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME "
        "and KAFKA_SASL_PASSWORD",
    ),
    "TLS without SASL": (
        {
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SASL_MECHANISM": "",
            "KAFKA_SASL_USERNAME": "",
            "KAFKA_SASL_PASSWORD": "",
        },
        "the listener speaks SASL_SSL, and this client SSL. Fix: set "
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL",
    ),
}


@pytest.mark.kafka
@pytest.mark.secure
@pytest.mark.parametrize("case", UNWORKABLE)
async def test_a_connection_that_cannot_work_fails_fast_in_one_line(
    secure_env: SecureKafka,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiokafka")
    settings, *said = UNWORKABLE[case]
    other_ca = str(secure_env.certificates.other_ca)
    for name, value in settings.items():
        monkeypatch.setenv(name, value.format(other_ca=other_ca))
    expected = [part.format(other_ca=other_ca) for part in said]
    began = time.monotonic()
    broker = await open_broker("kafka")  # a lesson: it says why, and goes on in memory
    took = time.monotonic() - began
    assert isinstance(broker, InMemoryBroker)
    typed = os.environ.get("KAFKA_SASL_PASSWORD") or secure_env.password
    [line] = shows_no_password(secure_env.password, capsys, caplog, typed=typed).splitlines()
    assert line.startswith(
        f"Kafka is not available here (cannot connect to Kafka at {secure_env.sasl_ssl}: "
    ) and line.endswith("; using InMemoryBroker instead.")
    assert all(part in line for part in expected), case
    assert took < FAST_S, f"{case}: {took:.1f} s"

    monkeypatch.setenv("EDA_REQUIRE_KAFKA", "1")  # a test or a script: it raises instead
    with pytest.raises(KafkaConnectError) as caught:
        await open_broker("kafka")
    message = str(caught.value)
    assert all(part in message for part in expected) and "\n" not in message
    shown = "".join(traceback.format_exception(caught.value))
    shows_no_password(secure_env.password, capsys, caplog, shown, typed=typed)


@pytest.mark.kafka
@pytest.mark.secure
async def test_mutual_tls_needs_the_client_certificate(secure: SecureKafka) -> None:
    certs = secure.certificates
    if certs.client_cert is None or certs.client_key is None:
        _cannot_run_kafka("mutual TLS needs `openssl` to turn the client's key into PEM")
    assert certs.client_cert is not None and certs.client_key is not None
    without = KafkaSecurity(protocol="SSL", cafile=certs.ca)
    with pytest.raises(
        KafkaConnectError,
        match=r"completed TLS and then closed the connection: it wants a client certificate "
        r"\(mutual TLS\)\. Fix: set KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE",
    ):
        await KafkaBroker.connect(secure.mtls, security=without)
    security = KafkaSecurity(
        protocol="SSL", cafile=certs.ca, certfile=certs.client_cert, keyfile=certs.client_key
    )
    topic = f"mtls-{uuid.uuid4().hex[:8]}"
    async with KafkaBroker(secure.mtls, security=security) as broker:
        await broker.create_topic(topic)
        report = await broker.produce(topic, b"over mutual TLS")
        [record] = await broker.read(topic, report.partition)
    assert record.value == b"over mutual TLS"


@pytest.mark.kafka
@pytest.mark.secure
async def test_transactions_and_plain_clients_connect_the_same_way(
    secure_env: SecureKafka,
) -> None:
    from aiokafka import AIOKafkaConsumer

    from eda_lib.kafka import read_all, write_in_transaction

    topic = f"secure-tx-{uuid.uuid4().hex[:8]}"
    async with KafkaBroker(secure_env.sasl_ssl) as broker:  # security from the environment
        await broker.create_topic(topic)
        await write_in_transaction(
            secure_env.sasl_ssl, topic, [b"kept"], transactional_id=topic, commit=True
        )
        assert await read_all(secure_env.sasl_ssl, topic, committed_only=True, expect=1) == [
            b"kept"
        ]
        plain = AIOKafkaConsumer(
            topic, **broker.client_options(), auto_offset_reset="earliest", group_id=None
        )
        await plain.start()
        try:
            [record] = (await plain.getmany(timeout_ms=10_000, max_records=1)).popitem()[1]
        finally:
            await plain.stop()
    assert record.value == b"kept"
