"""A local Kafka cluster: N combined broker+controller nodes in KRaft with a static voter set.

Each node is its own JVM with its own data directory and two ports on 127.0.0.1 (clients, and the
controller quorum). The cluster's layout (ports, cluster id) is kept in `cluster.json` in its data
directory, so a stopped cluster comes back on the same ports with its data, and another process
(the command line) can kill or restart one node by id.

Timeouts are tuned for a teaching cluster, where a node is killed on purpose and the learner
waits for the cluster to notice (see `TEACHING_TIMEOUTS`).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from eda_lib.kafka_local.broker import JVM_OPTIONS, LocalKafka, new_cluster_id
from eda_lib.kafka_local.tools import (
    DEFAULT_KAFKA_VERSION,
    KafkaSetupError,
    _mkdir,
    cache_root,
    free_port,
    is_ready,
    live_brokers,
    pid_alive,
    runs_kafka,
    wait_gone,
)

LAYOUT_FILE = "cluster.json"

# What a production cluster waits for is tuned down so a killed node is noticed in seconds:
# the controller fences a broker that missed heartbeats for `broker.session.timeout.ms` (default
# 9 s, heartbeats every 2 s) and only then moves its partitions' leadership; a follower that
# stopped fetching leaves the ISR after `replica.lag.time.max.ms` (default 30 s).
TEACHING_TIMEOUTS = {
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "3000",
    "replica.lag.time.max.ms": "10000",
}

# Three JVMs starting at once on two cores: compiling only with the quick C1 compiler starts the
# cluster in about 13 s instead of 17-20 s here; a teaching cluster does not need C2's top speed.
CLUSTER_JVM_OPTIONS = (*JVM_OPTIONS, "-XX:TieredStopAtLevel=1")


def replication_settings(nodes: int) -> dict[str, str]:
    """Kafka's own topics replicated like a production cluster's, as far as `nodes` allows."""
    factor, min_isr = str(min(nodes, 3)), str(min(nodes, 2))
    return {
        "default.replication.factor": factor,
        "offsets.topic.replication.factor": factor,
        "transaction.state.log.replication.factor": factor,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": factor,
        "share.coordinator.state.topic.min.isr": min_isr,
    }


@dataclass
class LocalCluster:
    """`nodes` local Kafka nodes as one cluster. `with LocalCluster() as cluster:` starts it and
    stops it at the end; `kill(node)`, `stop_node(node)` and `restart(node)` act on one node
    (and `pause(cluster, node)` and `resume(cluster, node)`, below, freeze and thaw one).

    `data_dir=None` keeps the data in a temporary directory that `stop()` deletes; with a
    `data_dir`, `start()` after `stop()` brings the same cluster back with its data.
    """

    nodes: int = 3
    data_dir: Path | None = None
    version: str = DEFAULT_KAFKA_VERSION
    ready_timeout: float = 180.0
    settings: dict[str, str] = field(default_factory=dict)
    members: dict[int, LocalKafka] = field(default_factory=dict, init=False, repr=False)
    started_in: float = field(default=0.0, init=False)
    paused: set[int] = field(default_factory=set, init=False)  # by `pause(cluster, node)`
    _layout: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _detach: bool = field(default=False, init=False, repr=False)
    _temporary: tempfile.TemporaryDirectory[str] | None = field(
        default=None, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= 9:
            raise ValueError(f"a local cluster has 1 to 9 nodes, not {self.nodes}")

    @property
    def bootstrap(self) -> str:
        """Every node's address: a client finds the cluster through whichever answers."""
        return ",".join(node.bootstrap for node in self.members.values())

    @property
    def node_ids(self) -> list[int]:
        return sorted(self.members)

    def node(self, node_id: int) -> LocalKafka:
        if node_id not in self.members:
            raise KafkaSetupError(
                f"there is no node {node_id} in this cluster: its nodes are {self.node_ids}"
            )
        return self.members[node_id]

    def up(self) -> list[int]:
        """The nodes whose process is running."""
        return [i for i in sorted(self.members) if self.pid(i) is not None]

    def start(self, *, detach: bool = False) -> LocalCluster:
        """Launch every node at once (the quorum forms only when most voters are up), then wait
        until each answers and the cluster lists all its brokers."""
        began = time.monotonic()
        self._detach = detach
        if not self.members:
            self._plan()
        waiting = [node for i, node in self.members.items() if self.pid(i) is None]
        for node in waiting:
            node.check_ports()  # all of them before any JVM starts
        for node in waiting:
            node.launch(detach=detach)
        self._save()
        deadline = time.monotonic() + self.ready_timeout
        for node in self.members.values():
            self._wait(node, deadline)
        self.wait_for_brokers(len(self.members), deadline)
        self.started_in = time.monotonic() - began
        return self

    def _plan(self) -> None:
        if self.data_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="eda-kafka-cluster-")
            self.data_dir = Path(self._temporary.name)
        self.data_dir = _mkdir(Path(self.data_dir))
        layout = read_layout(self.data_dir)
        if layout is None:
            ports = {i: (free_port(), free_port()) for i in range(1, self.nodes + 1)}
            layout = {
                "cluster_id": new_cluster_id(),
                "version": self.version,
                "nodes": [
                    {"id": i, "port": port, "controller_port": controller}
                    for i, (port, controller) in ports.items()
                ],
            }
        elif len(layout["nodes"]) != self.nodes:
            raise KafkaSetupError(
                f"{self.data_dir} holds a cluster of {len(layout['nodes'])} nodes, not "
                f"{self.nodes}. Fix: ask for {len(layout['nodes'])} nodes, or use another data "
                "directory"
            )
        voters = ",".join(f"{n['id']}@127.0.0.1:{n['controller_port']}" for n in layout["nodes"])
        settings = replication_settings(self.nodes) | TEACHING_TIMEOUTS | self.settings
        for n in layout["nodes"]:
            self.members[int(n["id"])] = LocalKafka(
                port=int(n["port"]),
                controller_port=int(n["controller_port"]),
                data_dir=self.data_dir / f"node-{n['id']}",
                version=str(layout["version"]),
                node_id=int(n["id"]),
                voters=voters,
                cluster_id=str(layout["cluster_id"]),
                settings=settings,
                jvm_options=CLUSTER_JVM_OPTIONS,
            )
        self._layout = layout

    @classmethod
    def existing(cls, data_dir: Path) -> LocalCluster:
        """The cluster started in `data_dir` (by this process or another), to act on one node:
        `LocalCluster.existing(path).restart(2)`."""
        layout = read_layout(data_dir)
        if layout is None:
            raise KafkaSetupError(
                f"no cluster has been started in {data_dir}. Fix: start one with "
                "`python -m eda_lib.kafka_local start --brokers 3`"
            )
        cluster = cls(nodes=len(layout["nodes"]), data_dir=data_dir, version=layout["version"])
        cluster._plan()
        return cluster

    def pid(self, node_id: int) -> int | None:
        """The node's process id, whichever process started it; None if it is not running."""
        node = self.node(node_id)
        if node.process is not None:
            return node.process.pid if node.running else None
        started_elsewhere = {int(n["id"]): n.get("pid") for n in self._layout["nodes"]}
        pid = started_elsewhere.get(node_id)
        return int(pid) if pid is not None and pid_alive(int(pid)) else None

    def _save(self) -> None:
        assert self.data_dir is not None
        layout = dict(self._layout)
        layout["nodes"] = [
            {
                "id": i,
                "port": node.port,
                "controller_port": node.controller_port,
                "pid": self.pid(i),
            }
            for i, node in sorted(self.members.items())
        ]
        (self.data_dir / LAYOUT_FILE).write_text(json.dumps(layout, indent=1))
        self._layout = layout

    def _wait(self, node: LocalKafka, deadline: float, *, starting: bool = True) -> None:
        if node.process is None:
            return _answered(node, deadline)
        try:
            node.wait_until_ready(deadline)
        except KafkaSetupError as error:
            others = [i for i in self.members if i != node.node_id]
            if starting:  # a cluster that did not start is stopped whole; a restart stops one
                self.stop()
            raise KafkaSetupError(
                f"{error}\nA node waits for a quorum of its controllers: if nodes {others} also "
                "did not come up, look at their logs too"
            ) from None

    def wait_for_brokers(self, count: int, deadline: float | None = None) -> None:
        """Until the cluster's metadata lists `count` brokers (a node that answers may not have
        registered with the controller yet)."""
        deadline = deadline or time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if len(live_brokers(self.bootstrap)) >= count:
                return
            time.sleep(0.2)
        raise KafkaSetupError(
            f"the cluster did not list {count} brokers in time: the controller quorum may not "
            f"have formed. Last lines of node {self.node_ids[0]}'s log:\n"
            + self.node(self.node_ids[0]).tail()
        )

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: it dies mid-write, as when its process crashes."""
        self._signal(node_id, signal.SIGKILL)
        self.paused.discard(node_id)

    def stop_node(self, node_id: int) -> None:
        """SIGTERM one node: it hands its leaderships over and shuts down cleanly."""
        self._signal(node_id, signal.SIGTERM)

    def _signal(self, node_id: int, sig: signal.Signals) -> None:
        node, pid = self.node(node_id), self.pid(node_id)
        if node.process is not None:  # started by this process
            if sig == signal.SIGKILL:
                node.kill()
            else:
                node.stop()
        elif pid is not None:  # started by another process (the command line)
            os.kill(pid, sig)
            wait_gone([pid], 30.0 if sig == signal.SIGTERM else 10.0)
        self._save()

    def restart(self, node_id: int, *, wait: bool = True, detach: bool | None = None) -> float:
        """Start one stopped or killed node again on its ports and data; returns the seconds
        until the cluster lists it again. It returns at once with `wait=False`, and also while
        fewer than a majority of the nodes run: a node cannot start without a controller quorum,
        so it waits for the next one to be restarted."""
        node = self.node(node_id)
        began = time.monotonic()
        if self.pid(node_id) is None:
            node.launch(detach=self._detach if detach is None else detach)
            self._save()
        if wait and len(self.up()) >= self.majority:
            deadline = time.monotonic() + self.ready_timeout
            for other in self.up():  # nodes that were waiting for a quorum come up with it
                self._wait(self.node(other), deadline, starting=False)
            self.wait_for_brokers(len(self.up()), deadline)
        return time.monotonic() - began

    @property
    def majority(self) -> int:
        """How many nodes a controller quorum needs: more than half of the voters."""
        return len(self.members) // 2 + 1

    def stop(self) -> None:
        """Stop every node (all asked at once, then each waited for); a temporary data
        directory goes with them."""
        for node_id in sorted(self.paused):  # a frozen JVM would not act on SIGTERM
            resume(self, node_id)
        for node in self.members.values():
            if node.process is not None and node.running:
                node.process.send_signal(signal.SIGTERM)
        for node in self.members.values():
            node.stop()
        if self.data_dir is not None and self.members and self._temporary is None:
            self._save()
        self.members.clear()
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None
            self.data_dir = None

    def discard(self) -> None:
        """SIGKILL every node and delete a temporary data directory: for a cluster whose data
        does not matter, at exit, where a clean stop (seconds per node) would be cut short."""
        for node in self.members.values():
            node.kill()
        self.stop()  # nothing left running: it forgets the nodes and deletes temporary data

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def pause(cluster: LocalCluster, node_id: int) -> None:
    """SIGSTOP one node's JVM: it is frozen, not dead, as in a long garbage-collection pause or
    a frozen VM. Its connections stay open and nothing answers on them; the controller fences
    it once it misses heartbeats for `broker.session.timeout.ms`. (A function, not a method of
    `LocalCluster`, to keep that class short enough to hold in your head.)"""
    pid = cluster.pid(node_id)
    if pid is None:
        raise KafkaSetupError(
            f"node {node_id} is not running, so there is nothing to pause. Fix: restart it "
            f"first (`cluster.restart({node_id})`)"
        )
    os.kill(pid, signal.SIGSTOP)
    cluster.paused.add(node_id)


def resume(cluster: LocalCluster, node_id: int) -> None:
    """SIGCONT a paused node: it carries on where it stopped, unaware that time passed. A node
    that is not paused is left alone."""
    pid = cluster.pid(node_id)
    if pid is not None and node_id in cluster.paused:
        os.kill(pid, signal.SIGCONT)
    cluster.paused.discard(node_id)


def _answered(node: LocalKafka, deadline: float) -> None:
    """A node started by another process (the command line): it answers, or it does not."""
    while not is_ready(node.bootstrap):
        if time.monotonic() > deadline:
            raise KafkaSetupError(f"node {node.node_id} did not answer on {node.bootstrap}")
        time.sleep(0.3)


def read_layout(data_dir: Path) -> dict[str, Any] | None:
    try:
        layout = json.loads((Path(data_dir) / LAYOUT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return layout if isinstance(layout, dict) else None


_lesson_cluster: LocalCluster | None = None  # one per process, however often a cell re-runs
_watched: list[int] = []  # this process's pid, once a watchdog watches it


def _owners_dir() -> Path:
    return _mkdir(cache_root() / "run" / "lesson-clusters")


async def open_cluster(nodes: int = 3) -> LocalCluster:
    """A local cluster for this process (a notebook): started on first use, gone when the
    process exits. Without Java or Maven it raises `KafkaSetupError` saying what to install.

    The nodes run in a session of their own, so that interrupting the kernel (SIGINT to its
    process group) does not stop them; in exchange, nothing would stop them when the kernel is
    killed. So the process kills them at exit (quickly: their data is temporary), and a small
    watchdog process kills them, and deletes their data, if the kernel dies without exiting.
    """
    global _lesson_cluster
    sweep_orphans()
    if _lesson_cluster is None or not _lesson_cluster.members:
        _lesson_cluster = LocalCluster(nodes=nodes)
        atexit.register(_lesson_cluster.discard)
    # Run again after kills, `start` brings every stopped node back at once.
    await asyncio.to_thread(_lesson_cluster.start, detach=True)
    owner = _owners_dir() / f"{os.getpid()}.json"
    owner.write_text(json.dumps({"data_dir": str(_lesson_cluster.data_dir)}))
    if not _watched:
        _watched.append(os.getpid())
        subprocess.Popen(
            [sys.executable, "-m", "eda_lib.kafka_local.watchdog", str(os.getpid())],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return _lesson_cluster


def sweep_orphans() -> list[int]:
    """SIGKILL the nodes of lesson clusters whose owning process is gone, and delete their
    temporary data; returns the pids killed."""
    killed = []
    for owner in _owners_dir().glob("*.json"):
        if pid_alive(int(owner.stem)):
            continue
        try:
            data_dir = Path(json.loads(owner.read_text())["data_dir"])
        except (OSError, ValueError, TypeError, KeyError):
            owner.unlink(missing_ok=True)
            continue
        for node in (read_layout(data_dir) or {}).get("nodes", []):
            pid = node.get("pid")
            if pid and _is_kafka(int(pid)):
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
        shutil.rmtree(data_dir, ignore_errors=True)
        owner.unlink(missing_ok=True)
    return killed


def _is_kafka(pid: int) -> bool:
    return runs_kafka(pid) is True
