"""A simulated history in a running stack's archive: what the model commands (backtest, shadow, rescore,
train) are tested on. The simulator's plan knows every visitor's hidden propensity and what sales decided,
so tests can judge a model against the truth.

`simulated_history` (a session fixture, see conftest.py) starts one runner with `--simulate` at
HISTORY_SEED and HISTORY_VISITORS over 90 days and yields it once the simulation is done; `cli(run, ...)`
runs `python -m cli --endpoint <its local AWS> ...` against it; `archive(run)` reads its archive back.
"""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from leadstream.archive.reader import ArchiveReader
from leadstream.archive.records import ArchivedRecord
from leadstream.archive.store import ArchiveStore

from local.aws import clients
from local.runner import STACK
from local.simulator.plan import Plan
from local.template import load_stack
from tests.pipeline.harness import REPO, Runner
from tests.pipeline.test_simulation import planned

HISTORY_SEED, HISTORY_VISITORS = 5, 300


def archive(run: Runner, days: int = 1) -> list[ArchivedRecord]:
    """Every record the runner's archive holds, stored in the last `days` days (a simulation stores its
    whole 90-day history today), in the order stored."""
    bucket = load_stack(STACK, "eu-west-1", {}, {}).physical_name("ArchiveBucket")
    store = ArchiveStore(bucket, clients(run.endpoint, "eu-west-1")["s3"])
    today = datetime.now(UTC).date()
    return list(ArchiveReader(store).records(today - timedelta(days=days), today))


def history_plan(run: Runner) -> Plan:
    """The plan the runner played (its people, companies, hidden propensities and sales' decisions)."""
    return planned(run.log_path.read_text(), HISTORY_SEED, HISTORY_VISITORS)


def cli(run: Runner, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m cli --endpoint <the runner's local AWS> <args>`, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "--endpoint", run.endpoint, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
