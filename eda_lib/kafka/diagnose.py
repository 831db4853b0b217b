"""Why a connection to Kafka failed, in one line with the fix.

aiokafka reports every failed start as "Unable to bootstrap from [...]" and leaves the cause in
its log. After such a failure, one more connection to each bootstrap address, made with the same
settings, brings the cause back as an exception: a certificate the client does not trust,
credentials the broker refused, a SASL mechanism it does not offer. When the listener simply
closes on the client, probes that carry no credentials tell what it speaks instead: whether a TLS
handshake completes (without checking the certificate: nothing secret is sent), then whether it
answers a request before any SASL exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from aiokafka.conn import collect_hosts, create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.metadata import MetadataRequest

from eda_lib.kafka.security import ENV, KafkaSecurity

PROBE_WITHIN_S = 5.0
HOSTS_TRIED = 3
_MUTUAL_TLS = "TLS, then closed"  # a TLS listener that hangs up before any request
_X509_HOSTNAME_MISMATCH, _X509_IP_MISMATCH, _X509_EXPIRED = 62, 64, 10

_FIX_FOR = {
    "SASL_SSL": f"set {ENV['protocol']}=SASL_SSL, with {ENV['mechanism']}, {ENV['username']} "
    f"and {ENV['password']} (and {ENV['cafile']} unless a public CA signed the cluster's "
    "certificate)",
    "SSL": f"set {ENV['protocol']}=SSL (and {ENV['cafile']} unless a public CA signed the "
    "cluster's certificate)",
    "SASL_PLAINTEXT": f"set {ENV['protocol']}=SASL_PLAINTEXT, with {ENV['mechanism']}, "
    f"{ENV['username']} and {ENV['password']}",
    "PLAINTEXT": f"set {ENV['protocol']}=PLAINTEXT (or unset it and the KAFKA_SASL_ and "
    "KAFKA_SSL_ variables)",
}


async def why_not(bootstrap: str, security: KafkaSecurity) -> str | None:
    """The reason a client with `security` cannot connect to `bootstrap`, or None when no
    address explains it (nothing listens, say: the caller knows how to say that)."""
    for host, port, _ in collect_hosts(bootstrap, randomize=False)[:HOSTS_TRIED]:
        reason = await _why_not_at(host, port, security)
        if reason is not None:
            return security.hide(f"cannot connect to Kafka at {host}:{port}: {reason}")
    return None


async def _why_not_at(host: str, port: int, security: KafkaSecurity) -> str | None:
    try:
        await _exchange(host, port, security.client_options())
    except ssl.SSLCertVerificationError as error:
        return _untrusted(error, security)
    except (SaslAuthenticationFailed, AuthenticationFailedError) as error:
        said = error.args[0] if error.args else type(error).__name__
        return (
            f"SASL authentication failed for user '{security.username}' with "
            f"{security.mechanism or 'PLAIN'} (Kafka said: {said}). Fix: check {ENV['username']} "
            f"and {ENV['password']}, and that {ENV['mechanism']} is the mechanism the cluster "
            "keeps this user's credentials for"
        )
    except UnsupportedSaslMechanismError as error:
        return (
            f"the cluster does not offer SASL mechanism {security.mechanism or 'PLAIN'} "
            f"({error.args[0] if error.args else ''}). Fix: set {ENV['mechanism']} to one it "
            "offers"
        )
    except (OSError, KafkaError, TimeoutError):
        return await _mismatch(host, port, security)
    return None  # this address works now: what failed was elsewhere, or passing


async def _exchange(host: str, port: int, options: dict[str, Any]) -> None:
    """Connect as a client with `options` would (TLS, API versions, SASL), and ask for the
    cluster's metadata, the first thing a client does."""

    async def exchange() -> None:
        connection = await create_conn(
            host, port, request_timeout_ms=int(PROBE_WITHIN_S * 1000), **options
        )
        try:
            await connection.send(MetadataRequest([]))
        finally:
            connection.close()

    await asyncio.wait_for(exchange(), PROBE_WITHIN_S)


async def _mismatch(host: str, port: int, security: KafkaSecurity) -> str | None:
    spoken = await spoken_at(host, port)
    if spoken is None:
        return None
    if spoken == _MUTUAL_TLS:
        if security.tls and security.certfile is None:
            return (
                "the listener completed TLS and then closed the connection: it wants a client "
                f"certificate (mutual TLS). Fix: set {ENV['certfile']} and {ENV['keyfile']} to "
                "this client's certificate and key, signed by a CA the cluster trusts"
            )
        if security.tls:
            return (
                "the listener completed TLS and then closed the connection: it did not accept "
                f"the client certificate in {ENV['certfile']}={security.certfile}. Fix: use one "
                "signed by a CA the cluster trusts"
            )
        return (
            f"the listener speaks SSL and wants a client certificate, and this client speaks "
            f"{security.protocol}. Fix: {_FIX_FOR['SSL']}, with {ENV['certfile']} and "
            f"{ENV['keyfile']}"
        )
    if spoken == security.protocol:
        return None
    return (
        f"the listener speaks {spoken}, and this client {security.protocol}. "
        f"Fix: {_FIX_FOR[spoken]}"
    )


async def spoken_at(host: str, port: int) -> str | None:
    """The security protocol a Kafka listener speaks, found without credentials; None when
    nothing there answers as Kafka."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    tls = await _completes_tls(host, port, unverified)
    base = "SSL" if tls else "PLAINTEXT"
    options: dict[str, Any] = {"security_protocol": "SSL", "ssl_context": unverified} if tls else {}
    try:
        connection = await asyncio.wait_for(
            create_conn(host, port, request_timeout_ms=int(PROBE_WITHIN_S * 1000), **options),
            PROBE_WITHIN_S,
        )
    except (OSError, KafkaError, TimeoutError):
        return _MUTUAL_TLS if tls else None
    try:
        # A SASL listener answers the API versions request (clients ask it first) but closes
        # on anything else before the SASL handshake.
        await asyncio.wait_for(connection.send(MetadataRequest([])), PROBE_WITHIN_S)
    except (OSError, KafkaError, TimeoutError):
        return f"SASL_{base}"
    finally:
        connection.close()
    return base


async def _completes_tls(host: str, port: int, context: ssl.SSLContext) -> bool:
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), PROBE_WITHIN_S
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):  # the listener may have closed first: no matter
        await writer.wait_closed()
    return True


def _untrusted(error: ssl.SSLCertVerificationError, security: KafkaSecurity) -> str:
    said = error.verify_message or str(error)
    if error.verify_code in (_X509_HOSTNAME_MISMATCH, _X509_IP_MISMATCH):
        return (
            f"TLS certificate verify failed ({said}). Fix: connect by a name the broker's "
            "certificate is for, in KAFKA_BOOTSTRAP (and in the cluster's advertised listeners)"
        )
    if error.verify_code == _X509_EXPIRED:
        return (
            f"TLS certificate verify failed ({said}). Fix: the broker's certificate must be "
            "renewed by whoever runs the cluster"
        )
    trusted = (
        f"the CA in {ENV['cafile']}={security.cafile}"
        if security.cafile is not None
        else f"the system's CAs ({ENV['cafile']} is not set)"
    )
    return (
        f"TLS certificate verify failed ({said}): {trusted} did not sign the broker's "
        f"certificate. Fix: set {ENV['cafile']} to the cluster's CA certificate (a PEM file)"
    )
