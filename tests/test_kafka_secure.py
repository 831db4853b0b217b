"""Connecting to a secured Kafka cluster: TLS and SASL settings from the environment, one-line
errors that name the cause and the fix, a password that shows nowhere, and the cluster's
default replication factor for new topics.

The tests marked `secure` start a Kafka node of their own with SASL_SSL and mutual-TLS listeners
(see `tests.secure_kafka`); the others need no broker, or the plain one of the `kafka` tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from eda_lib import InMemoryBroker, open_broker
from eda_lib.brokers.base import BrokerError, Retention
from eda_lib.kafka import (
    HIDDEN,
    KafkaBroker,
    KafkaConnectError,
    KafkaSecurity,
    KafkaSecurityError,
)
from eda_lib.kafka import topics as kafka_topics
from eda_lib.kafka_local import KafkaSetupError
from tests.conftest import _cannot_run_kafka
from tests.secure_kafka import USER, SecureKafka, missing_tools, start_secure_kafka

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]  # for the tests without a broker
FAST_S = 5.0  # "fails fast": aiokafka on its own waits up to 40 s


def env_of(**settings: str) -> dict[str, str]:
    return {f"KAFKA_{name.upper()}": value for name, value in settings.items()}


# --- settings, no broker ------------------------------------------------------------------------


def test_nothing_set_is_plaintext() -> None:
    security = KafkaSecurity.from_env({})
    assert security == KafkaSecurity()
    assert security.client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_gives_every_client_the_same_options() -> None:
    security = KafkaSecurity.from_env(
        env_of(
            security_protocol="sasl_ssl",
            sasl_mechanism="scram-sha-512",
            sasl_username=USER,
            sasl_password=PASSWORD,
        )
    )
    options = security.client_options()
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": USER,
        "sasl_plain_password": PASSWORD,
    }
    # no CA file: the system's CAs, and the broker's name checked against its certificate
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert security.client_options()["ssl_context"] is context  # made once, shared


def test_sasl_without_a_mechanism_is_plain() -> None:
    security = KafkaSecurity(protocol="SASL_PLAINTEXT", username=USER, password=PASSWORD)
    assert security.client_options()["sasl_mechanism"] == "PLAIN"
    assert "ssl_context" not in security.client_options()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"security_protocol": "TLS"},
            r"KAFKA_SECURITY_PROTOCOL=TLS is not a Kafka security protocol\. Fix: use "
            r"PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"},
            r"KAFKA_SASL_MECHANISM=GSSAPI is not a SASL mechanism .* Fix: use PLAIN, "
            r"SCRAM-SHA-256 or SCRAM-SHA-512",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": USER},
            r"SASL_SSL needs a user name and a password, and KAFKA_SASL_PASSWORD is not set\. "
            r"Fix: set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        (
            {"security_protocol": "SASL_PLAINTEXT"},
            r"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are not set",
        ),
        (
            {"sasl_username": USER, "sasl_password": PASSWORD},
            r"KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are set, but "
            r"KAFKA_SECURITY_PROTOCOL=PLAINTEXT sends no credentials\. Fix: set "
            r"KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_username": "", "sasl_password": PASSWORD},
            r"KAFKA_SASL_USERNAME is not set",  # empty is unset
        ),
        (
            {"ssl_cafile": "/no/such/ca.pem"},
            r"KAFKA_SSL_CAFILE is set, but KAFKA_SECURITY_PROTOCOL=PLAINTEXT uses no TLS\. "
            r"Fix: set KAFKA_SECURITY_PROTOCOL=SSL",
        ),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_username": USER,
                "sasl_password": PASSWORD,
                "ssl_cafile": "/no/such/ca.pem",
            },
            r"KAFKA_SSL_CAFILE=/no/such/ca.pem does not exist\. Fix: point KAFKA_SSL_CAFILE at "
            r"the cluster's CA certificate",
        ),
        (
            {"security_protocol": "SSL", "ssl_keyfile": "/no/such/key.pem"},
            r"KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_fix(
    settings: dict[str, str], expected: str
) -> None:
    with pytest.raises(KafkaSecurityError, match=expected) as caught:
        KafkaSecurity.from_env(env_of(**settings))
    assert isinstance(caught.value, BrokerError)  # open_broker falls back on it, or raises
    assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)


def test_a_ca_file_that_is_a_directory_or_not_pem_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KafkaSecurityError, match=r"is a directory, not a file"):
        KafkaSecurity(protocol="SSL", cafile=tmp_path)
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(KafkaSecurityError, match=rf"cannot use KAFKA_SSL_CAFILE={garbage} \("):
        KafkaSecurity(protocol="SSL", cafile=garbage)


def test_the_password_shows_in_no_repr_str_or_description() -> None:
    security = KafkaSecurity(
        protocol="SASL_SSL", mechanism="SCRAM-SHA-256", username=USER, password=PASSWORD
    )
    for shown in (repr(security), str(security), f"{security}", security.describe()):
        assert PASSWORD not in shown
    assert repr(security) == (
        f"KafkaSecurity(protocol='SASL_SSL', mechanism='SCRAM-SHA-256', username='{USER}', "
        f"password='{HIDDEN}')"
    )
    assert security.describe() == f"SASL_SSL, SCRAM-SHA-256 as {USER}"
    assert security.hide(f"said {PASSWORD}!") == f"said {HIDDEN}!"


def test_aiokafka_log_records_lose_the_password(caplog: pytest.LogCaptureFixture) -> None:
    password = "pw-" + uuid.uuid4().hex[:8]
    KafkaSecurity(protocol="SASL_PLAINTEXT", username=USER, password=password).client_options()
    caplog.set_level(logging.DEBUG, logger="aiokafka")
    # as aiokafka logs a PLAIN authentication request at DEBUG: the payload as a bytes repr
    payload = b"\x00" + USER.encode() + b"\x00" + password.encode()
    logging.getLogger("aiokafka.conn").debug("Request 3: SaslAuthenticate(%r)", payload)
    logging.getLogger("aiokafka").warning("said %s", password)
    assert len(caplog.records) == 2
    assert password not in caplog.text and caplog.text.count(HIDDEN) == 2


async def test_a_silent_host_fails_within_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def accept_and_say_nothing(reader: asyncio.StreamReader, _: object) -> None:
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(kafka_topics, "CONNECT_WITHIN_S", 1.0)
    began = time.monotonic()
    try:
        with pytest.raises(
            KafkaConnectError,
            match=rf"Kafka at 127\.0\.0\.1:{port} did not answer within 1 s\. Fix: check the "
            "host and port in KAFKA_BOOTSTRAP",
        ):
            await KafkaBroker.connect(f"127.0.0.1:{port}", security=KafkaSecurity())
    finally:
        server.close()
    assert time.monotonic() - began < 3


# --- default replication factor and topic configs, on the plain broker of the kafka tests ---


@pytest.fixture
async def plain_broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    broker = await KafkaBroker.connect(kafka_bootstrap)
    yield broker
    await broker.close()


@pytest.mark.kafka
async def test_topics_get_the_cluster_default_replication_factor(
    plain_broker: KafkaBroker,
) -> None:
    assert await plain_broker.default_replication_factor() == 1  # the single node's default
    topic = f"replicated-{uuid.uuid4().hex[:8]}"
    await plain_broker.create_topic(topic, partitions=2)
    admin = await plain_broker.admin()
    [described] = await admin.describe_topics([topic])
    assert [len(p["replicas"]) for p in described["partitions"]] == [1, 1]


@pytest.mark.kafka
async def test_more_replicas_than_brokers_names_both_numbers(plain_broker: KafkaBroker) -> None:
    topic = f"too-many-replicas-{uuid.uuid4().hex[:8]}"
    with pytest.raises(
        BrokerError,
        match=rf"topic '{topic}' needs 3 replicas, but the cluster has 1 broker\(s\) running\. "
        "Fix: pass replication_factor=1 or less",
    ):
        await plain_broker.create_topic(topic, replication_factor=3)
    assert topic not in await plain_broker.topics()
    with pytest.raises(ValueError, match="replication factor of at least 1, not 0"):
        await plain_broker.create_topic(topic, replication_factor=0)


@pytest.mark.kafka
async def test_topic_configs_are_set_at_creation(plain_broker: KafkaBroker) -> None:
    topic = f"configured-{uuid.uuid4().hex[:8]}"
    await plain_broker.create_topic(
        topic,
        replication_factor=1,
        retention=Retention(max_age=timedelta(hours=1)),
        configs={"min.insync.replicas": "1", "cleanup.policy": "compact"},
    )
    admin = await plain_broker.admin()
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(code, _, _, _, entries)] = response.resources
    found = {entry[0]: entry[1] for entry in entries}
    assert code == 0
    assert found["cleanup.policy"] == "compact" and found["retention.ms"] == "3600000"
    with pytest.raises(ValueError, match=r"retention says 3600000 ms and configs"):
        await plain_broker.create_topic(
            f"{topic}-2",
            retention=Retention(max_age=timedelta(hours=1)),
            configs={"retention.ms": "5"},
        )


# --- a secured cluster -------------------------------------------------------------------------


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
        async with Consumer(broker, "shipping", topic, lambda e: got.append(e.payment_id)) as c:
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
