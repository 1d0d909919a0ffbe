"""Rescoring a running stack's simulated history (a runner of its own: rescoring changes it) with a model
whose thresholds are lower: leads move to MQL and SQL with nobody notified, their STATE carries the new
model's version, and a second run changes nothing."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leadstream.platform.documents import read_yaml
from leadstream.scoring.model_file import SHIPPED_MODEL

from local.aws import clients
from local.runner import DEMO_WRITE_KEY, STACK
from local.template import load_stack
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.history import cli
from tests.pipeline.test_simulation import simulating

SEED, VISITORS = 3, 40
VERSION = 7  # the new model's (the shipped model is version 1)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    with simulating(tmp_path_factory.mktemp("rescore"), SEED, VISITORS) as run:
        yield run


@pytest.fixture(scope="module")
def lower_thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = read_yaml(SHIPPED_MODEL)
    document["version"] = VERSION
    for threshold in document["stages"]:
        threshold["min_score"] = {"MQL": 10, "SQL": 40}[threshold["stage"]]
    path = tmp_path_factory.mktemp("models") / "lower.yaml"
    path.write_text(json.dumps(document))
    return path


def rescore(run: Runner, model: Path) -> dict[str, Any]:
    """A run to the end: started again while the archive is still catching up with the stack (exit 1)."""
    deadline = time.monotonic() + 300
    while True:
        done = cli(run, "model", "rescore", "--model", str(model), "--json")
        assert done.returncode in (0, 1), done.stderr
        if done.returncode == 0 or time.monotonic() > deadline:
            assert done.returncode == 0, done.stderr
            summary: dict[str, Any] = json.loads(done.stdout)
            return summary
        time.sleep(2)


def states(run: Runner) -> dict[str, dict[str, Any]]:
    """Every lead's STATE item (DynamoDB JSON), by lead id."""
    table = load_stack(STACK, "eu-west-1", {}, {}).physical_name("LeadsTable")
    dynamodb = clients(run.endpoint, "eu-west-1")["dynamodb"]
    found: dict[str, dict[str, Any]] = {}
    query: dict[str, Any] = {"TableName": table}
    while True:
        page = dynamodb.scan(**query)
        found.update(
            {i["pk"]["S"].removeprefix("LEAD#"): i for i in page["Items"] if i["sk"]["S"] == "STATE"}
        )
        if "LastEvaluatedKey" not in page:
            return found
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def demo_request(run: Runner, name: str) -> None:
    anon = "6d0f9c1e-0000-4000-8000-00000000b001"
    view = {"anonymousId": anon, "messageId": "rescore-pricing", "writeKey": DEMO_WRITE_KEY}
    view["context"] = {"page": {"path": "/demo/pricing.html", "url": f"{run.base}/demo/pricing.html"}}
    assert run.post("/v1/p", json.dumps(view).encode(), "text/plain", auth=False) == 200
    form = (
        f"name={name.replace(' ', '+')}&email=rescore.check%40acme.com&company=Acme&title=CTO"
        f"&anonymousId={anon}"
        "&_next=%2Fdemo%2Fthanks.html"
    ).encode()
    referer = {"referer": f"{run.base}/demo/request-demo.html"}
    assert run.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded", referer) == 303


def test_leads_rescored_under_lower_thresholds_move_up_unnotified_and_a_second_run_changes_nothing(
    runner: Runner, lower_thresholds: Path
):
    notified = len(runner.notes())

    summary = rescore(runner, lower_thresholds)

    assert summary["written"] > 0
    assert summary["rescored_stages"].get("MQL", 0) > 0
    moved = {c["lead_id"] for c in summary["changes"] if c["rescored"]}
    assert moved
    stored = states(runner)
    for change in summary["changes"]:
        assert stored[change["lead_id"]]["model"]["N"] == str(VERSION)
    assert {stored[lead]["stage"]["S"] for lead in moved} <= {"MQL", "PQL", "SQL"}

    again = rescore(runner, lower_thresholds)

    assert again["written"] == 0
    assert again["rescored_stages"] == {}
    assert again["unchanged"] >= summary["written"]
    # nobody heard of the rescored stage changes: a live SQL made after them is the one notification since
    demo_request(runner, "Rescore Check")
    eventually(lambda: [n for n in runner.notes()[notified:] if "Rescore Check" in json.dumps(n)], 60)
    later = runner.notes()[notified:]
    assert len(later) == 1
    assert not [lead for lead in moved if lead in json.dumps(later)]
