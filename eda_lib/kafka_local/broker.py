"""Start, check and stop one local KRaft Kafka node (a combined broker and controller).

Alone it is the lessons' single broker; `LocalCluster` runs several as one cluster. The jars are
fetched once with Maven into a per-version cache; a node listens on 127.0.0.1 only, with a small
heap, and logs to a file. Ready means a metadata request to it succeeded.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from eda_lib.kafka_local.tools import (
    DEFAULT_KAFKA_VERSION,
    KafkaSetupError,
    _mkdir,
    _port_taken,
    _run,
    _tool,
    cache_root,
    fetch_jars,
    free_port,
    is_ready,
    pid_alive,
    runs_kafka,
    who_listens,
)

HEAP = "-Xmx512m"  # plenty for a teaching broker, and kind to a 2-core machine
JVM_OPTIONS = (HEAP, "-Xms128m", "-XX:+UseSerialGC")


def _alive(pid: int) -> bool:
    """The broker's process still runs (not another that reused its pid)."""
    return pid_alive(pid) and runs_kafka(pid) is not False


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
    `stop()` deletes. With a `data_dir`, a restart finds the data already there. Alone, the node
    is its own controller quorum; a `LocalCluster` gives each node its `node_id`, the shared
    `voters` and `cluster_id`, and the `settings` that make replication work.
    """

    port: int | None = None
    data_dir: Path | None = None
    version: str = DEFAULT_KAFKA_VERSION
    ready_timeout: float = 120.0
    node_id: int = 1
    controller_port: int | None = None
    voters: str | None = None
    cluster_id: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    format_options: list[str] = field(default_factory=list)
    jvm_options: tuple[str, ...] = JVM_OPTIONS
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    started_in: float = field(default=0.0, init=False)
    _began: float = field(default=0.0, init=False, repr=False)
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

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, detach: bool = False) -> LocalKafka:
        self.launch(detach=detach)
        self.wait_until_ready()
        return self

    def launch(self, *, detach: bool = False) -> None:
        """Start the node's JVM without waiting for it (a cluster launches all its nodes first)."""
        java = _tool("java")
        libs = fetch_jars(self.version)
        self._began = time.monotonic()
        if self.data_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="eda-kafka-")
            self.data_dir = Path(self._temporary.name)
        self.data_dir = _mkdir(Path(self.data_dir))
        self.check_ports()
        config = self._write_config()
        classpath = f"{libs}/*"
        logging_config = f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"
        if not (self.data_dir / "data" / "meta.properties").exists():  # else: formatted before
            self._format(java, classpath, logging_config, config)
        with (self.data_dir / "stdout.log").open("ab") as out:
            self.process = subprocess.Popen(
                [
                    java,
                    *self.jvm_options,
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

    def check_ports(self) -> None:
        """Pick free ports where none were given; name the holder of one that is taken."""
        if self.port is None:
            self.port = free_port()
        if self.controller_port is None:
            self.controller_port = free_port()
        for port in (self.port, self.controller_port):
            if _port_taken(port):
                holder = who_listens(port)
                raise KafkaSetupError(
                    f"port {port} on 127.0.0.1 (node {self.node_id}) is already taken"
                    + (f" by {holder}" if holder else "")
                    + ". Stop that process, or choose another port (port=None picks a free one)"
                )

    def _format(self, java: str, classpath: str, logging_config: str, config: Path) -> None:
        assert self.data_dir is not None
        cluster_id = self.cluster_id or new_cluster_id()
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
                *self.format_options,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if formatted.returncode != 0:
            raise KafkaSetupError(
                f"formatting node {self.node_id}'s storage failed:\n{formatted.stderr}"
            )

    def server_properties(self) -> dict[str, str]:
        """The node's `server.properties`: a single node's defaults, then `settings` on top."""
        assert self.data_dir is not None
        voters = self.voters or f"{self.node_id}@127.0.0.1:{self.controller_port}"
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
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
            # The log cleaner wakes every 15 s by default; 1 s lets lesson 07 watch it compact.
            "log.cleaner.backoff.ms": "1000",
            # Off, unlike the course's broker: KafkaBroker must refuse an unknown topic as the
            # in-memory broker does (UnknownTopic, saying to create it; the broker contract tests
            # check it), and with auto-creation on, even the metadata request that looks a topic
            # up can create it. Production clusters create their topics explicitly too. `make
            # kafka` creates the course's topics up front instead (course_topics.COURSE_TOPICS).
            "auto.create.topics.enable": "false",
        }
        return settings | self.settings

    def _write_config(self) -> Path:
        assert self.data_dir is not None
        config = self.data_dir / "server.properties"
        config.write_text(
            "".join(f"{key}={value}\n" for key, value in self.server_properties().items())
        )
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

    def wait_until_ready(self, deadline: float | None = None) -> None:
        """Until the node answers a metadata request; else stop it and say why, with its log."""
        assert self.process is not None
        deadline = deadline or time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                problem = (
                    f"Kafka node {self.node_id} exited with code {self.process.returncode} "
                    "while starting"
                )
                break
            if is_ready(self.bootstrap):
                self.started_in = time.monotonic() - self._began
                return
            time.sleep(0.3)
        else:
            problem = (
                f"Kafka node {self.node_id} did not answer on {self.bootstrap} within "
                f"{self.ready_timeout:.0f} s"
            )
        if self.voters and self.voters.count("@") > 1:
            problem += (
                " (a node of a cluster starts only once most of the controller quorum's voters "
                f"are up: {self.voters}; start the others too, and look at their logs)"
            )
        message = f"{problem}. Last lines of {self.log_file}:\n{self.tail()}"
        self.stop()  # after reading the log: a temporary data directory goes with it
        raise KafkaSetupError(message)

    def tail(self, lines: int = 15) -> str:
        """The last lines the node logged (its log file, else what the JVM printed)."""
        for name in ("kafka.log", "stdout.log"):
            assert self.data_dir is not None
            path = self.data_dir / name
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log written)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, so the node shuts down cleanly; SIGKILL only if it does not in time."""
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
        """SIGKILL: the node dies at once, as when its process crashes. `start()` restarts it on the
        same ports and data directory."""
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


def new_cluster_id() -> str:
    """A random cluster id in the form `kafka-storage random-uuid` prints."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
