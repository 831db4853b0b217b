"""`python -m eda_lib.kafka_local start|stop|status|kill|restart`: local Kafka for the lessons.

`start` runs one broker (as in the course) and creates whichever of the course's topics it lacks
(see `course_topics`); `start --brokers 3` runs a cluster of three nodes (lesson 16). `kill N`
(SIGKILL), `stop N` (SIGTERM) and `restart N` act on node N of the running cluster; `stop` alone
stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from eda_lib.kafka_local.broker import STATE_FILE, LocalKafka, running_broker
from eda_lib.kafka_local.cluster import LocalCluster, read_layout
from eda_lib.kafka_local.course_topics import announce, create_course_topics
from eda_lib.kafka_local.quorum import describe_quorum
from eda_lib.kafka_local.tools import (
    DEFAULT_KAFKA_VERSION,
    KafkaSetupError,
    cache_root,
    live_brokers,
    wait_gone,
)


def cluster_dir() -> Path:
    return cache_root() / "run" / "cluster"


def running_cluster() -> LocalCluster | None:
    """The cluster an earlier `start --brokers N` left running (any of its nodes alive)."""
    if read_layout(cluster_dir()) is None:
        return None
    cluster = LocalCluster.existing(cluster_dir())
    return cluster if cluster.up() else None


def start(port: int, version: str, brokers: int) -> int:
    if brokers > 1:
        return start_cluster(brokers, version)
    state = running_broker()
    if state is not None:
        print(
            f"a broker from an earlier start is running (pid {state['pid']}); not starting another",
            file=sys.stderr,
        )
    else:
        run_dir = cache_root() / "run"
        broker = LocalKafka(port=port or None, data_dir=run_dir / "data", version=version)
        broker.start(detach=True)
        assert broker.process is not None
        state = {
            "pid": broker.process.pid,
            "bootstrap": broker.bootstrap,
            "version": version,
            "log": str(broker.log_file),
        }
        (run_dir / STATE_FILE).write_text(json.dumps(state))
        print(
            f"Kafka {version} ready in {broker.started_in:.1f} s (pid {broker.process.pid}, "
            f"log {broker.log_file})",
            file=sys.stderr,
        )
    # The course's programs expect their topics to be there (its broker made them on first use);
    # whichever is missing is created, on this start as on a later one.
    print(announce(create_course_topics(str(state["bootstrap"]))), file=sys.stderr)
    print(state["bootstrap"])
    return 0


def start_cluster(nodes: int, version: str) -> int:
    running = running_cluster()
    if running is not None:
        print("a cluster from an earlier start is running; not starting another", file=sys.stderr)
        print(running.bootstrap)
        return 0
    cluster = LocalCluster(nodes=nodes, data_dir=cluster_dir(), version=version)
    cluster.start(detach=True)
    print(
        f"a Kafka {version} cluster of {nodes} nodes ready in {cluster.started_in:.1f} s "
        f"(logs in {cluster_dir()}/node-*/kafka.log)",
        file=sys.stderr,
    )
    print(cluster.bootstrap)
    return 0


def stop() -> int:
    stopped = False
    cluster = running_cluster()
    if cluster is not None:
        pids = [pid for i in cluster.node_ids if (pid := cluster.pid(i)) is not None]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        wait_gone(pids, 30.0)
        print(f"stopped the cluster (pids {', '.join(map(str, pids))})")
        stopped = True
    state = running_broker()
    if state is not None:
        pid = int(state["pid"])
        os.kill(pid, signal.SIGTERM)
        wait_gone([pid], 30.0)
        (cache_root() / "run" / STATE_FILE).unlink(missing_ok=True)
        print(f"stopped the broker (pid {pid})")
        stopped = True
    if not stopped:
        print("no local broker or cluster is running")
    return 0


def status() -> int:
    state, cluster = running_broker(), running_cluster()
    if state is not None:
        print(
            f"broker: pid {state['pid']} at {state['bootstrap']} (Kafka {state['version']}), "
            f"log {state['log']}"
        )
    if cluster is not None:
        print(cluster_status(cluster))
    if state is None and cluster is None:
        print("no local broker or cluster is running")
        return 1
    return 0


def cluster_status(cluster: LocalCluster) -> str:
    """Which node is up, registered with the controller, and the active controller."""
    bootstrap = cluster.bootstrap
    registered = set(live_brokers(bootstrap))
    try:
        controller: int | None = describe_quorum(bootstrap).leader
    except Exception:  # no node answers, or no quorum: say so rather than fail
        controller = None
    lines = [f"cluster at {bootstrap}"]
    for node_id in cluster.node_ids:
        pid = cluster.pid(node_id)
        lines.append(
            f"  node {node_id}: {'up' if pid else 'down':4}  pid {pid or '-':<7}  "
            f"{cluster.node(node_id).bootstrap}"
            + ("  registered" if node_id in registered else "")
            + ("  active controller" if node_id == controller else "")
        )
    if controller is None:
        lines.append("  no active controller: most of the voters must be up for a quorum")
    return "\n".join(lines)


def signal_node(node_id: int, how: signal.Signals) -> int:
    """SIGKILL (`kill N`) or SIGTERM (`stop N`) one node of the running cluster."""
    cluster = LocalCluster.existing(cluster_dir())
    pid = cluster.pid(node_id)
    if pid is None:
        raise KafkaSetupError(f"node {node_id} is not running")
    if how == signal.SIGKILL:
        cluster.kill(node_id)
        print(f"killed node {node_id} (pid {pid}) with SIGKILL")
    else:
        cluster.stop_node(node_id)
        print(f"stopped node {node_id} (pid {pid}) with SIGTERM: it handed its leaderships over")
    return 0


def restart(node_id: int) -> int:
    cluster = LocalCluster.existing(cluster_dir())
    if cluster.pid(node_id) is not None:
        print(f"node {node_id} is already running (pid {cluster.pid(node_id)})")
        return 0
    took = cluster.restart(node_id, detach=True)
    print(f"node {node_id} is back (pid {cluster.pid(node_id)}) in {took:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eda_lib.kafka_local", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "kill", "restart"])
    parser.add_argument(
        "node", nargs="?", type=int, help="a node id: for kill and restart, and stop of one node"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=9092,
        help="port on 127.0.0.1 for a single broker (default 9092, as in the course; 0 = any)",
    )
    parser.add_argument(
        "--brokers", type=int, default=1, help="nodes: 1 (default), or 3 for a cluster"
    )
    parser.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Apache Kafka version")
    args = parser.parse_args(argv)
    if args.command in ("kill", "restart") and args.node is None:
        parser.error(f"say which node to {args.command}, e.g. `{args.command} 2`")
    try:
        if args.command == "start":
            return start(args.port, args.version, args.brokers)
        if args.command == "kill":
            return signal_node(args.node, signal.SIGKILL)
        if args.command == "restart":
            return restart(args.node)
        if args.command == "stop":
            return stop() if args.node is None else signal_node(args.node, signal.SIGTERM)
        return status()
    except KafkaSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
