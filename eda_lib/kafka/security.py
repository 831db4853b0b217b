"""Connecting to a secured Kafka cluster: TLS, SASL, and what every aiokafka client is given.

A managed or company cluster almost always wants TLS (the broker proves who it is, with a
certificate signed by a CA the client trusts) and SASL (the client proves who it is: a user name
and a password, checked with PLAIN or SCRAM). `KafkaSecurity` holds those settings, reads them
from `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
`KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE`, `KAFKA_SSL_CERTFILE` and `KAFKA_SSL_KEYFILE`, refuses
settings that cannot work before any connection is tried, and gives every aiokafka client the
same keyword arguments.

The password never shows: not in the repr, not in an error message, and not in aiokafka's own
debug log, which prints a PLAIN authentication request byte for byte.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from aiokafka.helpers import create_ssl_context

from eda_lib.brokers.base import BrokerError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PROTOCOLS: tuple[str, ...] = get_args(SecurityProtocol)
MECHANISMS: tuple[str, ...] = get_args(SaslMechanism)
HIDDEN = "***"

ENV = {
    "protocol": "KAFKA_SECURITY_PROTOCOL",
    "mechanism": "KAFKA_SASL_MECHANISM",
    "username": "KAFKA_SASL_USERNAME",
    "password": "KAFKA_SASL_PASSWORD",
    "cafile": "KAFKA_SSL_CAFILE",
    "certfile": "KAFKA_SSL_CERTFILE",
    "keyfile": "KAFKA_SSL_KEYFILE",
}
"""Each setting's environment variable; errors name the variable, where a learner fixes it."""
_FILES = {
    "cafile": "the cluster's CA certificate, a PEM file (its provider offers it for download)",
    "certfile": "this client's certificate, a PEM file",
    "keyfile": "this client's private key, a PEM file",
}


class KafkaSecurityError(BrokerError, ValueError):
    """Security settings that cannot work; the message names the setting and the fix."""


class KafkaConnectError(BrokerError):
    """The cluster could not be connected to; one line says why and what to do."""


def _or(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}"


@dataclass(frozen=True, repr=False)
class KafkaSecurity:
    """How to connect to a cluster. `KafkaSecurity()` is plain PLAINTEXT, as a local broker
    wants; `KafkaSecurity.from_env()` reads the `KAFKA_...` variables in `ENV`.

    `cafile` is the CA that signed the brokers' certificates (PEM); without it the system's CAs
    are trusted, which is right for a cluster with a publicly signed certificate. `certfile` and
    `keyfile` are this client's own certificate and key, for a cluster that wants mutual TLS.
    """

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: SaslMechanism | None = None  # PLAIN when SASL is on and nothing else is said
    username: str | None = None
    password: str | None = None
    cafile: str | Path | None = None
    certfile: str | Path | None = None
    keyfile: str | Path | None = None
    _context: ssl.SSLContext | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        self._check()
        if self.tls:
            # Made once and shared by every client: it reads the files, and a file that is not
            # what it should be is better reported now than at the first connection.
            object.__setattr__(self, "_context", self._ssl_context())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """The settings in the environment (`os.environ` unless given); an empty variable
        counts as unset, and the protocol and mechanism may be in any case."""
        env = os.environ if environ is None else environ
        found = {name: env.get(variable, "").strip() or None for name, variable in ENV.items()}
        protocol = (found["protocol"] or "PLAINTEXT").upper().replace("-", "_")
        mechanism = found["mechanism"].upper() if found["mechanism"] else None
        if protocol not in PROTOCOLS:
            raise _unknown_protocol(found["protocol"] or protocol)
        if mechanism is not None and mechanism not in MECHANISMS:
            raise _unknown_mechanism(found["mechanism"] or mechanism)
        return cls(
            protocol=cast(SecurityProtocol, protocol),
            mechanism=cast(SaslMechanism | None, mechanism),
            username=found["username"],
            password=env.get(ENV["password"]) or None,  # a password may end in a space
            cafile=found["cafile"],
            certfile=found["certfile"],
            keyfile=found["keyfile"],
        )

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: admin, producer or consumer. They hold the
        password: hand them to the client, never print them."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self._context is not None:
            options["ssl_context"] = self._context
        if self.sasl:
            assert self.password is not None  # _check made sure
            _hide_in_logs(self.password)
            options |= {
                "sasl_mechanism": self.mechanism or "PLAIN",
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return options

    def describe(self) -> str:
        """One line for people, without the password: 'SASL_SSL, SCRAM-SHA-256 as alice'."""
        parts: list[str] = [self.protocol]
        if self.sasl:
            parts.append(f"{self.mechanism or 'PLAIN'} as {self.username}")
        if self.cafile is not None:
            parts.append(f"CA {self.cafile}")
        if self.certfile is not None:
            parts.append(f"client certificate {self.certfile}")
        return ", ".join(parts)

    def hide(self, text: str) -> str:
        """`text` with the password, should it be there, replaced by ***."""
        return _redact(text, [self.password] if self.password else [])

    def __repr__(self) -> str:
        shown = {
            "protocol": self.protocol,
            "mechanism": self.mechanism,
            "username": self.username,
            "password": None if self.password is None else HIDDEN,
            "cafile": self.cafile,
            "certfile": self.certfile,
            "keyfile": self.keyfile,
        }
        settings = ", ".join(f"{name}={value!r}" for name, value in shown.items() if value)
        return f"KafkaSecurity({settings})"

    # --- checks: what cannot work is refused here, before a connection is tried ----------

    def _check(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise _unknown_protocol(self.protocol)
        if self.mechanism is not None and self.mechanism not in MECHANISMS:
            raise _unknown_mechanism(self.mechanism)
        if self.sasl:
            missing = [ENV[n] for n in ("username", "password") if not getattr(self, n)]
            if missing:
                raise KafkaSecurityError(
                    f"{self.protocol} needs a user name and a password, and "
                    f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. "
                    f"Fix: set {ENV['username']} and {ENV['password']} to the cluster's "
                    "credentials (on a managed cluster: an API key and its secret)"
                )
        else:
            given = [ENV[n] for n in ("mechanism", "username", "password") if getattr(self, n)]
            if given:
                raise KafkaSecurityError(
                    f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set, but "
                    f"{ENV['protocol']}={self.protocol} sends no credentials. Fix: set "
                    f"{ENV['protocol']}=SASL_SSL (or SASL_PLAINTEXT), or unset the KAFKA_SASL_ "
                    "variables"
                )
        files = {n: getattr(self, n) for n in ("cafile", "certfile", "keyfile")}
        given = [ENV[n] for n, path in files.items() if path is not None]
        if given and not self.tls:
            raise KafkaSecurityError(
                f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set, but "
                f"{ENV['protocol']}={self.protocol} uses no TLS. Fix: set {ENV['protocol']}="
                f"{'SASL_SSL' if self.sasl else 'SSL'}, or unset {' and '.join(given)}"
            )
        if self.keyfile is not None and self.certfile is None:
            raise KafkaSecurityError(
                f"{ENV['keyfile']} is set without {ENV['certfile']}. Fix: for mutual TLS set "
                "both, the client certificate and its private key (PEM files)"
            )
        for name, path in files.items():
            if path is not None and not Path(path).is_file():
                what = "is a directory, not a file" if Path(path).is_dir() else "does not exist"
                raise KafkaSecurityError(
                    f"{ENV[name]}={path} {what}. Fix: point {ENV[name]} at {_FILES[name]}"
                )

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            context: ssl.SSLContext = create_ssl_context(
                cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile
            )
        except (ssl.SSLError, OSError) as error:
            blamed = (
                f"{ENV['cafile']}={self.cafile}"
                if self.certfile is None
                else f"{ENV['certfile']}={self.certfile} and {ENV['keyfile']}={self.keyfile}"
            )
            reason = getattr(error, "reason", None) or type(error).__name__
            raise KafkaSecurityError(
                f"Python's ssl module cannot use {blamed} ({reason}). Fix: the CA must be a PEM "
                "certificate, and a client certificate and its key PEM files that belong together "
                "(the key not protected by a passphrase)"
            ) from None
        return context


def _unknown_protocol(protocol: str) -> KafkaSecurityError:
    return KafkaSecurityError(
        f"{ENV['protocol']}={protocol} is not a Kafka security protocol. Fix: use "
        f"{_or(PROTOCOLS)}; managed clusters mostly want SASL_SSL"
    )


def _unknown_mechanism(mechanism: str) -> KafkaSecurityError:
    return KafkaSecurityError(
        f"{ENV['mechanism']}={mechanism} is not a SASL mechanism eda_lib supports. Fix: use "
        f"{_or(MECHANISMS)}, the one the cluster keeps your credentials for"
    )


# --- aiokafka's log -----------------------------------------------------------------------------

_passwords: set[str] = set()


def _redact(text: str, passwords: Iterable[str]) -> str:
    for password in passwords:
        # aiokafka's debug log shows a request's payload as a bytes repr: escaped, no quotes
        for form in {password, repr(password.encode())[2:-1]}:
            text = text.replace(form, HIDDEN)
    return text


class _HidePasswords(logging.Filter):
    """Takes the passwords handed to aiokafka out of its log records before any handler (a
    notebook's, pytest's) sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _redact(message, _passwords)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_FILTER = _HidePasswords()


def _hide_in_logs(password: str) -> None:
    _passwords.add(password)
    # A logger's own filters only see the records it makes, not those its children pass up:
    # every aiokafka logger gets one (they exist once aiokafka is imported, as it is here).
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "aiokafka"]
    for name in {"aiokafka", "aiokafka.conn", *names}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
