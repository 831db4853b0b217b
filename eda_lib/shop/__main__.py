"""`python -m eda_lib.shop serve|status|place`: the shop's services as OS processes on Kafka.

    python -m eda_lib.shop serve payments --data shop-data   # until SIGTERM or Ctrl-C
    python -m eda_lib.shop status --data shop-data           # exit 0 only if every one is alive
    python -m eda_lib.shop place o-1 ann 12000 --data shop-data

The broker is the one KAFKA_BOOTSTRAP names (e.g. 127.0.0.1:9092 after `make kafka`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from eda_lib.brokers.base import BrokerError
from eda_lib.shop.process import (
    PROCESS_SERVICES,
    lags,
    place_order,
    read_statuses,
    serve,
    status_table,
)
from eda_lib.sourcing.aggregate import RuleBroken


def _bootstrap() -> str:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "").strip()
    if not bootstrap:
        sys.exit(
            "KAFKA_BOOTSTRAP is not set. Fix: start a broker (make kafka) and "
            "export KAFKA_BOOTSTRAP=127.0.0.1:9092"
        )
    return bootstrap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eda_lib.shop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # --data before or after the command: both are what people type
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", type=Path, default=argparse.SUPPRESS, help="state directory")
    parser.add_argument("--data", type=Path, default=Path("shop-data"), help="state directory")
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve", parents=[data], help="run one service until SIGTERM")
    serving.add_argument("service", choices=PROCESS_SERVICES)
    serving.add_argument("--slow", type=float, default=0.0, help="seconds per event (a demo)")
    checking = commands.add_parser(
        "status", parents=[data], help="liveness and lag of every service"
    )
    checking.add_argument("--no-lag", action="store_true", help="do not ask the broker")
    placing = commands.add_parser("place", parents=[data], help="place an order")
    placing.add_argument("order_id")
    placing.add_argument("customer")
    placing.add_argument("amount", type=int, help="in cents")
    placing.add_argument("--currency", default="USD")
    args = parser.parse_args(argv)

    if args.command == "serve":
        return asyncio.run(serve(args.service, args.data, _bootstrap(), slow=args.slow))
    if args.command == "place":
        try:
            place_order(args.data, args.order_id, args.customer, args.amount, args.currency)
        except (RuleBroken, ValidationError) as error:
            print(f"order not placed: {_first_line(error)}", file=sys.stderr)
            return 1
        print(f"placed {args.order_id}: the orders service's outbox publishes it")
        return 0
    statuses = read_statuses(args.data)
    lag = None
    if not args.no_lag:
        try:
            lag = asyncio.run(lags(_bootstrap()))
        except (BrokerError, KafkaError, OSError) as error:
            print(f"lag unknown: {str(error).splitlines()[0]}", file=sys.stderr)
    print(status_table(statuses, lag))
    everyone = all(s.alive() for s in statuses.values()) and len(statuses) == len(PROCESS_SERVICES)
    return 0 if everyone else 1


def _first_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(error).splitlines()[0]


if __name__ == "__main__":
    sys.exit(main())
