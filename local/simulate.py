"""Fills a running `make run` with a simulated history (the same as `make run ARGS=--simulate`):

    .venv/bin/python -m local.simulate --seed 7 --visitors 300 < password-of-sales@example.com

Reads where make run listens from .local/endpoints.json (as the command line does); signs in as the local
sales user, whose password make run printed (asked for, or one line on stdin with --password-stdin).
The same seed twice does no harm: see local/simulator/driver.py.
"""

import argparse
import getpass
import sys
import time

import boto3

from cli import target as targets
from cli.token import _local_client_id
from local.simulator.driver import SALES_USER, SimulationError
from local.simulator.run import add_options, simulate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.simulate", description=__doc__)
    add_options(parser)
    parser.add_argument("--api", default=None, help="the tracking and sales API (default: make run's)")
    parser.add_argument("--endpoint", default=None, help="the local AWS (default: make run's)")
    parser.add_argument(
        "--password-stdin", action="store_true", help=f"read {SALES_USER}'s password from stdin"
    )
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = targets.local(args.endpoint, args.api)
    except targets.TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cognito = boto3.client("cognito-idp", region_name=target.region, endpoint_url=target.endpoint)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password of {SALES_USER} (make run printed it): ")
    try:
        simulate(
            target.api_url,
            target.sources_table,
            cognito,
            _local_client_id(cognito),
            password,
            seed=args.seed,
            visitors=args.visitors,
            days=args.days,
            report=_log,
        )
    except (SimulationError, targets.TargetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
