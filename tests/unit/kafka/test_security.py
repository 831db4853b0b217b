"""Settings for a secured Kafka cluster, without a broker: TLS and SASL from the environment,
refusals that name the fix, and a password that shows nowhere."""

from __future__ import annotations

import logging
import ssl
import uuid
from pathlib import Path

import pytest

from eda_lib.brokers.base import BrokerError
from eda_lib.kafka import HIDDEN, KafkaSecurity, KafkaSecurityError
from tests.kafka.secure_kafka import USER

PASSWORD = "s3cret-" + uuid.uuid4().hex[:8]  # for the tests without a broker


def env_of(**settings: str) -> dict[str, str]:
    return {f"KAFKA_{name.upper()}": value for name, value in settings.items()}


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
