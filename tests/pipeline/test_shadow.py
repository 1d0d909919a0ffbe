"""Shadow mode on the running system: `make run` with a candidate model (ShadowScoringModel, the shipped
example: SQL at 60 where the live model asks 75), visitors over HTTP, and the operator's shadow report.
The candidate's extra SQL shows in the report; the notifications are the live model's only."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from leadstream.identity.identifiers import device_lead, identifiers

from local.runner import DEMO_WRITE_KEY
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.history import cli

pytestmark = pytest.mark.slow
CANDIDATE = "leadstream/scoring/candidates/sql_at_60.yaml"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("shadow"), "--parameter", f"ShadowScoringModel={CANDIDATE}")
    try:
        run.wait_ready(seconds=300)  # a busy machine (the other runners of the suite)
        yield run
    finally:
        run.stop()


def page(run: Runner, anonymous_id: str, path: str) -> None:
    message = {
        "type": "page",
        "anonymousId": anonymous_id,
        "messageId": f"{anonymous_id}-{path}",
        "context": {"page": {"path": path, "url": f"{run.base}{path}"}},
        "writeKey": DEMO_WRITE_KEY,
    }
    assert run.post("/v1/p", json.dumps(message).encode(), "text/plain", auth=False) == 200


def form(run: Runner, form_id: str, anonymous_id: str, email: str) -> None:
    fields = f"name=Sam&email={email}&company=Acme&title=Head+of+Sales&anonymousId={anonymous_id}"
    assert run.post(f"/v1/forms/{form_id}", fields.encode(), "application/x-www-form-urlencoded") in (
        200,
        303,
    )


def shadow_report(run: Runner) -> dict[str, Any] | None:
    answer = cli(run, "model", "shadow-report", "--json")
    return json.loads(answer.stdout) if answer.returncode == 0 else None


def test_the_candidates_extra_sql_is_in_the_shadow_report_and_only_the_live_model_notifies(runner):
    # Jane: pricing 25, a blog post 5, the newsletter 15, a work e-mail 10, a senior title 10 = 65: the
    # live model's MQL, the candidate's SQL
    page(runner, "anon-jane", "/demo/pricing.html")
    page(runner, "anon-jane", "/demo/blog/speed-to-lead.html")
    form(runner, "newsletter", "anon-jane", "jane@acme.example")
    # then Bob asks for a demo: an SQL for both models, which sales hears of
    form(runner, "demo-request", "anon-bob", "bob@globex.example")
    jane = device_lead(identifiers("anon-jane", None, None))
    bob = device_lead(identifiers("anon-bob", None, None))

    def both_scored() -> dict[str, Any] | None:
        report = shadow_report(runner)
        return report if report and report["people"] == 2 and report["sqls"]["both"]["people"] == 1 else None

    report = eventually(both_scored, seconds=120)
    assert report, cli(runner, "model", "shadow-report").stderr
    assert (report["candidate_version"], report["live_versions"]) == (2, [1])
    assert report["sqls"]["added"]["leads"] == [jane]  # the candidate's extra SQL ...
    assert report["sqls"]["both"]["leads"] == [bob]
    assert report["disagreements"] == [{"lead_id": jane, "live": "MQL", "candidate": "SQL"}]
    notes = eventually(runner.notes, seconds=60)
    # ... and only the live model's SQL reached sales
    assert [n["lead_id"] for n in notes] == [bob]

    table = cli(runner, "model", "shadow-report")
    assert table.returncode == 0, table.stderr
    assert "candidate model v2 beside the live model v1, 2 people scored" in table.stdout
