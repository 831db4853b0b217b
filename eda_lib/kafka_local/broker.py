"""Start, check and stop a local KRaft Kafka broker (one combined broker+controller node).

The jars are fetched once with Maven into a per-version cache; the broker listens on 127.0.0.1
only, with a small heap, and logs to a file. Ready means a metadata request succeeded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

DEFAULT_KAFKA_VERSION = "4.4.0"
HEAP = "-Xmx512m"  # plenty for a teaching broker, and kind to a 2-core machine


class KafkaSetupError(RuntimeError):
    """The local broker could not be set up; the message says why and what to do."""


def cache_root() -> Path:
    base = os.environ.get("EDA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "eda-notebooks" / "kafka"


def bootstrap_from_env() -> str | None:
    """`KAFKA_BOOTSTRAP` points everything at an existing cluster instead of a local broker."""
    return os.environ.get("KAFKA_BOOTSTRAP") or None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        advice = {
            "java": "install a JDK 17 or newer (e.g. `apt-get install openjdk-17-jre-headless`, "
            "or `conda install -c conda-forge openjdk>=17`)",
            "mvn": "install Maven (e.g. `apt-get install maven`, or `conda install -c conda-forge "
            "maven`), or set KAFKA_BOOTSTRAP to an existing Kafka cluster",
        }[name]
        raise KafkaSetupError(f"`{name}` is not on PATH: {advice}")
    return path


def fetch_jars(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """The broker's jars, fetched with Maven on first use and reused from the cache after."""
    libs = cache_root() / version / "libs"
    if (libs / ".complete").exists():
        return libs
    mvn = _tool("mvn")
    pom = resources.files("eda_lib.kafka_local") / "pom.xml"
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=_mkdir(cache_root() / version)))
    with resources.as_file(pom) as pom_path:
        result = _run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom_path),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                f"-Dkafka.version={version}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        said = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise KafkaSetupError(
            f"Maven could not fetch Apache Kafka {version} from Maven Central "
            f"(exit {result.returncode}). Maven said:\n" + "\n".join(said)
        )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (libs / ".complete").touch()
    return libs


def _run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, **options)
    except subprocess.TimeoutExpired as error:
        raise KafkaSetupError(
            f"`{' '.join(command[:3])} ...` did not finish within {error.timeout:.0f} s"
        ) from None


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def who_listens(port: int) -> str | None:
    """The process listening on a local port, if `ss` can tell."""
    if shutil.which("ss") is None:
        return None
    result = subprocess.run(
        ["ss", "-H", "-ltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    )
    line = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    return line.split("users:", 1)[1] if "users:" in line else None


def _run_in_thread(coroutine: Any) -> Any:
    """Run a coroutine to completion even when the caller is inside an event loop (a notebook)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def _answers_metadata(bootstrap: str) -> bool:
    from aiokafka import AIOKafkaClient

    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # refused connections are expected while starting
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()
        aiokafka_log.setLevel(level)


def is_ready(bootstrap: str) -> bool:
    """True when a broker at `bootstrap` answers a metadata request."""
    return bool(_run_in_thread(_answers_metadata(bootstrap)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"kafka.Kafka" in cmdline


STATE_FILE = "broker.json"


def running_broker() -> dict[str, Any] | None:
    """The broker an earlier `start` left running, if its process is still alive."""
    state_file = cache_root() / "run" / STATE_FILE
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(state, dict) and _alive(int(state["pid"])):
        return state
    state_file.unlink(missing_ok=True)  # stale: its process is gone
    return None


@dataclass
class LocalKafka:
    """One local Kafka node. Use it as a context manager, or `start()` and `stop()` it.

    `port=None` picks a free port; `data_dir=None` keeps the data in a temporary directory that
    `stop()` deletes. With a `data_dir`, a restart finds the data already there.
    """

    port: int | None = None
    data_dir: Path | None = None
    version: str = DEFAULT_KAFKA_VERSION
    ready_timeout: float = 120.0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    started_in: float = field(default=0.0, init=False)
    _controller_port: int = field(default=0, init=False, repr=False)
    _temporary: tempfile.TemporaryDirectory[str] | None = field(
        default=None, init=False, repr=False
    )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        assert self.data_dir is not None, "start the broker first"
        return self.data_dir / "kafka.log"

    def start(self, *, detach: bool = False) -> LocalKafka:
        java = _tool("java")
        libs = fetch_jars(self.version)
        began = time.monotonic()
        if self.data_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="eda-kafka-")
            self.data_dir = Path(self._temporary.name)
        self.data_dir = _mkdir(Path(self.data_dir))
        if self.port is None:
            self.port = free_port()
        if self._controller_port == 0:
            self._controller_port = free_port()
        for port in (self.port, self._controller_port):
            if _port_taken(port):
                holder = who_listens(port)
                raise KafkaSetupError(
                    f"port {port} on 127.0.0.1 is already taken"
                    + (f" by {holder}" if holder else "")
                    + ". Stop that process, or choose another port (port=None picks a free one)"
                )
        config = self._write_config()
        classpath = f"{libs}/*"
        logging_config = f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"
        if not (self.data_dir / "data" / "meta.properties").exists():  # else: formatted before
            self._format(java, classpath, logging_config, config)
        with (self.data_dir / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    java,
                    HEAP,
                    "-Xms128m",
                    "-XX:+UseSerialGC",
                    "-Djava.awt.headless=true",
                    logging_config,
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(config),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        self._wait_until_ready()
        self.started_in = time.monotonic() - began
        return self

    def _format(self, java: str, classpath: str, logging_config: str, config: Path) -> None:
        assert self.data_dir is not None
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = _run(
            [
                java,
                "-cp",
                classpath,
                logging_config,
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",  # the id may start with '-': keep it one argument
                "-c",
                str(config),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if formatted.returncode != 0:
            raise KafkaSetupError(f"formatting the broker's storage failed:\n{formatted.stderr}")

    def _write_config(self) -> Path:
        assert self.data_dir is not None
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self._controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self._controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        (self.data_dir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self.log_file}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
        )
        return config

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                problem = (
                    f"the Kafka broker exited with code {self.process.returncode} while starting"
                )
                break
            if is_ready(self.bootstrap):
                return
            time.sleep(0.3)
        else:
            problem = (
                f"the Kafka broker did not answer on {self.bootstrap} within "
                f"{self.ready_timeout:.0f} s"
            )
        message = f"{problem}. Last lines of {self.log_file}:\n{self._tail()}"
        self.stop()  # after reading the log: a temporary data directory goes with it
        raise KafkaSetupError(message)

    def _tail(self, lines: int = 15) -> str:
        for name in ("kafka.log", "stdout.log"):
            assert self.data_dir is not None
            path = self.data_dir / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log written)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, so the broker shuts down cleanly; SIGKILL only if it does not in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None
            self.data_dir = None

    def kill(self) -> None:
        """SIGKILL: the broker dies at once, as in a power cut. `start()` restarts it on the
        same port and data directory."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
