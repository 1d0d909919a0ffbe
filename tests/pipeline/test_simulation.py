"""`make run ARGS=--simulate`: a small simulated history (a fixed seed, 40 visitors) played through the
runner's tracking and sales APIs, checked through the sales API as the web app will read it: leads at MQL
and SQL, deals won with amounts (revenue in source quality), scoring's stage changes and first-seen times
in the past where the plan put them; the terminal not flooded; a second run with the same seed harmless."""

import contextlib
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.simulator.plan import Plan, plan
from tests.pipeline.harness import REPO, Runner
from tests.pipeline.test_sales_api import id_token, printed_password

pytestmark = pytest.mark.slow

SEED, VISITORS = 11, 40
DONE = "simulation done"


def simulated(run: Runner, seconds: float = 900) -> str:
    """The runner's log once its simulation is done (AssertionError with the log if it failed or took
    longer than `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log = run.log_path.read_text()
        if DONE in log:
            return log
        if "simulation failed" in log or run.process.poll() is not None:
            break
        time.sleep(1)
    raise AssertionError(f"the simulation did not finish:\n{run.log_path.read_text()[-5000:]}")


@contextlib.contextmanager
def simulating(folder: Path, seed: int, visitors: int, seconds: float = 900) -> Iterator[Runner]:
    """A runner in `folder` once it has played the simulator's history of `visitors` at `seed`; stopped
    afterwards."""
    run = Runner(folder, "--simulate", "--seed", str(seed), "--visitors", str(visitors))
    try:
        run.wait_ready(300)  # a busy machine starts a dozen functions slowly
        simulated(run, seconds)
        yield run
    finally:
        run.stop()


def planned(log: str, seed: int, visitors: int) -> Plan:
    """The plan the runner played: the same seed and size, and the time its log names."""
    found = re.search(r"days before (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", log)
    assert found, log
    return plan(seed, visitors, datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC))


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with simulating(tmp_path_factory.mktemp("simulation"), SEED, VISITORS) as run:
        yield run


@pytest.fixture(scope="module")
def bearer(runner: Runner) -> str:
    return id_token(runner, "marketing@example.com")  # reading is enough


@pytest.fixture(scope="module")
def the_plan(runner: Runner) -> Plan:
    return planned(runner.log_path.read_text(), SEED, VISITORS)


def get(run: Runner, path: str, bearer: str, **query: str) -> Any:
    answer = run.request(
        "GET", f"{path}?{urllib.parse.urlencode(query)}", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert answer.status == 200, answer.body
    return answer.json()


def leads(run: Runner, bearer: str, stages: str) -> list[dict[str, Any]]:
    return list(get(run, "/api/leads", bearer, stage=stages, limit="100")["leads"])


def funnel(run: Runner, bearer: str, since: str) -> dict[str, Any]:
    rows = get(run, "/api/reports/source-quality", bearer, since=since, by="channel")["rows"]
    totals: dict[str, Any] = {c: sum(r[c] for r in rows) for c in ("mqls", "sqls", "opportunities", "won")}
    totals["revenue"] = sum(r["revenue"].get("EUR", 0) for r in rows)
    totals["channels"] = {r["channel"] for r in rows}
    return totals


def test_the_simulation_fills_the_funnel_down_to_won_deals_with_revenue(
    runner: Runner, bearer: str, the_plan: Plan
) -> None:
    names = set(the_plan.by_name())
    listed = leads(runner, bearer, "MQL,PQL,SQL,accepted,rejected,opportunity,won,lost")
    ours = [row for row in listed if row["name"] in names]
    stages = {row["stage"] for row in ours}
    totals = funnel(runner, bearer, (the_plan.now.date() - timedelta(days=90)).isoformat())

    assert len(ours) >= 10
    assert {"MQL", "won"} <= stages
    assert stages & {"accepted", "rejected", "lost", "opportunity"}
    assert totals["mqls"] >= totals["sqls"] >= totals["opportunities"] >= totals["won"] >= 1
    assert totals["revenue"] > 0
    assert len(totals["channels"]) >= 3
    # the visitors, the companies: as the plan says
    assert all(row["account"] == the_plan.by_name()[row["name"]].company.domain for row in ours)


def test_scoring_dated_the_history_in_the_past_where_the_plan_put_it(
    runner: Runner, bearer: str, the_plan: Plan
) -> None:
    by_name = the_plan.by_name()
    for row in leads(runner, bearer, "SQL,accepted,rejected,opportunity,won,lost")[:8]:
        if row["name"] not in by_name:
            continue
        visitor = by_name[row["name"]]
        card = get(runner, f"/api/leads/{row['lead_id']}", bearer)
        scored = [c for c in card["stage_history"] if c["by"] == "scoring"]
        by_sales = [c for c in card["stage_history"] if c["by"] != "scoring"]
        first_seen = datetime.fromisoformat(card["first_seen"])
        planned_times = [datetime.fromisoformat(m["timestamp"]) for m in visitor.messages]

        assert abs(first_seen - visitor.first_seen) < timedelta(seconds=1)
        assert scored
        assert all(
            min(planned_times) <= datetime.fromisoformat(c["at"]) <= max(planned_times) for c in scored
        )
        # sales acts now: the API dates what a user does at the moment it is done
        assert all(datetime.fromisoformat(c["at"]) > the_plan.now for c in by_sales)


def test_the_terminal_shows_progress_and_a_summary_not_every_notification(runner: Runner) -> None:
    log = runner.log_path.read_text()
    summary = re.search(r"(\d+) notifications while simulating \((.*)\)", log)

    assert re.search(r"simulation: sent (\d+)/\1 events \(100%\)", log)
    assert re.search(r"simulation: finished in \d+ s: .*won revenue [\d,]+ EUR", log)
    assert summary
    assert int(summary.group(1)) == len(runner.notes()) > 0
    assert "SALES NOTIFICATION" not in log
    assert not re.search(r"POST /v1/import -> 200", log)


def test_a_second_run_with_the_same_seed_does_no_harm(runner: Runner, bearer: str, the_plan: Plan) -> None:
    since = (the_plan.now.date() - timedelta(days=90)).isoformat()
    before = funnel(runner, bearer, since)

    again = subprocess.run(
        [
            *(sys.executable, "-m", "local.simulate", "--api", runner.base, "--endpoint", runner.endpoint),
            *("--seed", str(SEED), "--visitors", str(VISITORS), "--password-stdin"),
        ],
        cwd=REPO,
        input=printed_password(runner, "sales@example.com") + "\n",
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert again.returncode == 0, again.stderr + again.stdout
    assert "sales acted: nothing new" in again.stdout
    assert funnel(runner, bearer, since) == before
