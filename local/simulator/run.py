"""One simulation against a running stack: its source, a sales user's sign-in, the plan played through."""

import argparse
import threading
from datetime import UTC, datetime
from typing import Any

from local.simulator.driver import SALES_USER, Driver, Outcome, Report, ensure_source, sign_in
from local.simulator.plan import DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_VISITORS, plan


def simulate(
    api: str,
    sources_table: str,
    cognito: Any,
    client_id: str,
    password: str,
    *,
    seed: int,
    visitors: int,
    days: int,
    report: Report,
    stop: threading.Event | None = None,
) -> Outcome:
    """Plays the plan of `seed` (`visitors` visitors over the `days` up to now) through the stack at
    `api`, signed in as the local sales user with `password`; what came of it. Setting `stop` ends it
    (SimulationError) at its next request."""
    now = datetime.now(UTC)
    ensure_source(sources_table, now)
    token = sign_in(cognito, client_id, SALES_USER, password)
    return Driver(api, token, report, stop=stop).run(plan(seed, visitors, now, days))


def add_options(parser: argparse.ArgumentParser) -> None:
    """--seed, --visitors and --days (make run's runner takes them too)."""
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"the plan's seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--visitors",
        type=int,
        default=DEFAULT_VISITORS,
        help=f"visitors to simulate (default {DEFAULT_VISITORS})",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"the history's length in days (default {DEFAULT_DAYS})",
    )
