"""What starting a local Kafka node needs: the JDK and Maven on PATH, Kafka's jars in a cache,
free ports on 127.0.0.1, and a way to ask a node whether it answers."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient

DEFAULT_KAFKA_VERSION = "4.4.0"


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


async def _metadata_brokers(bootstrap: str) -> list[int]:
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)  # refused connections are expected while starting
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await client.bootstrap()
        return sorted(broker.nodeId for broker in client.cluster.brokers())
    except Exception:
        return []
    finally:
        await client.close()
        aiokafka_log.setLevel(level)


def live_brokers(bootstrap: str) -> list[int]:
    """The broker ids a metadata request to `bootstrap` lists (none if nothing answers): on a
    cluster, the brokers its controller has not fenced."""
    return list(_run_in_thread(_metadata_brokers(bootstrap)))


def is_ready(bootstrap: str) -> bool:
    """True when a broker at `bootstrap` answers a metadata request."""
    return bool(live_brokers(bootstrap))


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists (one of another user counts)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs_kafka(pid: int) -> bool | None:
    """Whether the process is a Kafka node; None where /proc cannot tell."""
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def wait_gone(pids: Iterable[int], timeout: float) -> None:
    """Until every process in `pids` has exited (a signal is asynchronous); SIGKILL whichever
    is still there after `timeout` seconds."""
    waiting = list(pids)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in waiting) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in waiting:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
