"""A local Kafka node with secured listeners, for the `secure` tests.

Certificates come from the JDK's `keytool`: a throw-away CA, a broker certificate it signs (valid
for 127.0.0.1 and localhost), and, when `openssl` is there to turn a PKCS#12 key into PEM for
Python, a client certificate for mutual TLS. The node keeps its PLAINTEXT listener, which
readiness checks, brokers and controllers use, and adds:

* `SASL_SSL`: TLS with the broker certificate, then PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. The
  SCRAM credentials are written into the metadata log by `StorageTool format --add-scram`,
  as an operator would; PLAIN's users live in the listener's JAAS configuration.
* `MTLS`: TLS that requires a client certificate signed by the same CA, and no SASL.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from eda_lib.kafka_local import LocalKafka
from eda_lib.kafka_local.tools import free_port

USER = "alice"
STORE_PASSWORD = "keystore-" + secrets.token_hex(4)  # the JKS/PKCS#12 stores' own password
VALID_DAYS = "2"


@dataclass(frozen=True)
class Certificates:
    ca: Path  # PEM: what a client passes as KAFKA_SSL_CAFILE
    other_ca: Path  # PEM of a CA that signed nothing here: trusting it is trusting the wrong CA
    broker_keystore: Path  # PKCS#12: the broker's key and its certificate chain
    truststore: Path  # PKCS#12: the CA, for the broker to check client certificates
    client_cert: Path | None  # PEM, signed by the CA; None without openssl
    client_key: Path | None


def missing_tools() -> list[str]:
    return [tool for tool in ("java", "keytool") if shutil.which(tool) is None]


def _keytool(*arguments: str) -> None:
    done = subprocess.run(
        ["keytool", *arguments, "-storepass", STORE_PASSWORD],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"keytool {arguments[0]} failed: {done.stdout}{done.stderr}")


def _key_pair(store: Path, alias: str, name: str, *extensions: str) -> None:
    _keytool(
        "-genkeypair",
        "-keystore",
        str(store),
        "-storetype",
        "PKCS12",
        "-alias",
        alias,
        "-dname",
        f"CN={name}",
        "-keyalg",
        "EC",
        "-groupname",
        "secp256r1",
        "-validity",
        VALID_DAYS,
        *extensions,
    )


def _signed(store: Path, alias: str, ca_store: Path, ca_pem: Path, *extensions: str) -> Path:
    """Have the CA sign `alias`'s key in `store`, and put the chain back into `store`."""
    request, certificate = store.with_suffix(".csr"), store.with_suffix(".pem")
    _keytool("-certreq", "-keystore", str(store), "-alias", alias, "-file", str(request))
    _keytool(
        "-gencert",
        "-keystore",
        str(ca_store),
        "-alias",
        "ca",
        "-infile",
        str(request),
        "-outfile",
        str(certificate),
        "-rfc",
        "-validity",
        VALID_DAYS,
        *extensions,
    )
    _keytool(
        "-importcert", "-keystore", str(store), "-alias", "ca", "-file", str(ca_pem), "-noprompt"
    )
    _keytool("-importcert", "-keystore", str(store), "-alias", alias, "-file", str(certificate))
    return certificate


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    store, pem = directory / f"{name}.p12", directory / f"{name}.pem"
    _key_pair(
        store,
        "ca",
        f"eda-notebooks test {name}",
        "-ext",
        "bc:c",
        "-ext",
        "ku:c=keyCertSign,cRLSign",
    )
    _keytool("-exportcert", "-keystore", str(store), "-alias", "ca", "-rfc", "-file", str(pem))
    return store, pem


def make_certificates(directory: Path) -> Certificates:
    ca_store, ca_pem = _ca(directory, "ca")
    _, other_pem = _ca(directory, "other-ca")
    broker = directory / "broker.p12"
    _key_pair(broker, "broker", "localhost")
    _signed(
        broker,
        "broker",
        ca_store,
        ca_pem,
        "-ext",
        "san=ip:127.0.0.1,dns:localhost",
        "-ext",
        "eku=serverAuth",
    )
    truststore = directory / "truststore.p12"
    _keytool(
        "-importcert",
        "-keystore",
        str(truststore),
        "-storetype",
        "PKCS12",
        "-alias",
        "ca",
        "-file",
        str(ca_pem),
        "-noprompt",
    )
    client_cert = client_key = None
    if shutil.which("openssl") is not None:
        client = directory / "client.p12"
        _key_pair(client, "client", USER)
        client_cert = _signed(client, "client", ca_store, ca_pem, "-ext", "eku=clientAuth")
        client_key = directory / "client-key.pem"
        subprocess.run(
            [
                "openssl",
                "pkcs12",
                "-in",
                str(client),
                "-nocerts",
                "-nodes",
                "-passin",
                f"pass:{STORE_PASSWORD}",
                "-out",
                str(client_key),
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
    return Certificates(ca_pem, other_pem, broker, truststore, client_cert, client_key)


@dataclass
class SecureKafka:
    """A started `LocalKafka` and where its secured listeners are."""

    node: LocalKafka
    sasl_ssl: str  # bootstrap address of the SASL_SSL listener
    mtls: str  # bootstrap address of the SSL listener that wants a client certificate
    certificates: Certificates
    password: str  # alice's, for every mechanism

    def stop(self) -> None:
        self.node.stop()


def secure_settings(
    port: int,
    controller_port: int,
    sasl_port: int,
    mtls_port: int,
    certs: Certificates,
    password: str,
) -> dict[str, str]:
    """What the secured listeners add to the node's server.properties."""
    stores = {
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(certs.broker_keystore),
        "ssl.keystore.password": STORE_PASSWORD,
        "ssl.key.password": STORE_PASSWORD,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": str(certs.truststore),
        "ssl.truststore.password": STORE_PASSWORD,
    }
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return {
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
        f"SASL_SSL://127.0.0.1:{sasl_port},MTLS://127.0.0.1:{mtls_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},"
        f"SASL_SSL://127.0.0.1:{sasl_port},MTLS://127.0.0.1:{mtls_port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
        "SASL_SSL:SASL_SSL,MTLS:SSL",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'user_{USER}="{password}";'
        ),
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": scram,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
        "listener.name.mtls.ssl.client.auth": "required",
        **stores,
    }


def start_secure_kafka(directory: Path) -> SecureKafka:
    """Certificates in `directory`, then a node with the secured listeners; the caller stops it."""
    certs = make_certificates(directory)
    password = "pw-" + secrets.token_hex(8)
    port, controller_port, sasl_port, mtls_port = (free_port() for _ in range(4))
    node = LocalKafka(
        port=port,
        controller_port=controller_port,
        settings=secure_settings(port, controller_port, sasl_port, mtls_port, certs, password),
        format_options=[
            option
            for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
            for option in ("--add-scram", f"{mechanism}=[name={USER},password={password}]")
        ],
    )
    node.start()
    return SecureKafka(node, f"127.0.0.1:{sasl_port}", f"127.0.0.1:{mtls_port}", certs, password)
