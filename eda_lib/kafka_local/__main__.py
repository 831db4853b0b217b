"""`python -m eda_lib.kafka_local start|stop|status`: a local Kafka broker for the lessons."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from eda_lib.kafka_local.broker import (
    DEFAULT_KAFKA_VERSION,
    STATE_FILE,
    KafkaSetupError,
    LocalKafka,
    cache_root,
    running_broker,
)


def start(port: int, version: str) -> int:
    state = running_broker()
    if state is not None:
        print(
            f"a broker from an earlier start is running (pid {state['pid']}); not starting another",
            file=sys.stderr,
        )
        print(state["bootstrap"])
        return 0
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
    print(broker.bootstrap)
    return 0


def stop() -> int:
    state = running_broker()
    if state is None:
        print("no local broker is running")
        return 0
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if running_broker() is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (cache_root() / "run" / STATE_FILE).unlink(missing_ok=True)
    print(f"stopped the broker (pid {pid})")
    return 0


def status() -> int:
    state = running_broker()
    if state is None:
        print("no local broker is running")
        return 1
    print(
        f"running: pid {state['pid']} at {state['bootstrap']} (Kafka {state['version']}), "
        f"log {state['log']}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eda_lib.kafka_local", description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--port",
        type=int,
        default=9092,
        help="port on 127.0.0.1 (default 9092, as in the course; 0 = any free)",
    )
    parser.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Apache Kafka version")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            return start(args.port, args.version)
        return stop() if args.command == "stop" else status()
    except KafkaSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
