"""Issue 9's acceptance ("How we will know"), end to end through `make run`'s runner: visitors become SQLs
through the tracking API, the notification names the owner the assignment rules chose, a lead nobody
acts on is escalated once at its deadline, a lead accepted in time is not, a rejected one is recycled with
its reason, MEDDIC guards the opportunity and a won deal is revenue for its channel, and the SQL list
shows what waits. Real Cognito ID tokens; the tests' own assignment rules (ASSIGNMENT_RULES_PATH, which
the runner's functions inherit): one team, sales@example.com, a 5-second SLA."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from leadstream.identity.identifiers import device_lead, identifiers

from local.runner import DEMO_WRITE_KEY
from tests.pipeline.harness import REPO, Answer, Runner, eventually
from tests.pipeline.test_pipeline import ANON, visitor_journey
from tests.pipeline.test_sales_api import card, id_token, post

pytestmark = pytest.mark.slow

SLA_SECONDS = 5
OWNER = "sales@example.com"
RULES = {
    "version": 1,
    "teams": [{"name": "sales", "members": [OWNER]}],
    "default_team": "sales",
    "countries": {},
    "sla": {"default_seconds": SLA_SECONDS, "stages": {"SQL": SLA_SECONDS, "hand_raiser": SLA_SECONDS}},
}


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    folder = tmp_path_factory.mktemp("journey")
    rules = folder / "assignment.yaml"
    rules.write_text(json.dumps(RULES))  # JSON is YAML
    run = Runner(
        folder,
        "--parameter",
        "QualificationFramework=MEDDIC",
        env={"ASSIGNMENT_RULES_PATH": str(rules)},
    )
    run.wait_ready()
    yield run
    run.stop()


@pytest.fixture(scope="module")
def bearer(runner: Runner) -> str:
    """The sales user's ID token (its e-mail is who acts), signed in before any lead's timer starts."""
    return id_token(runner, OWNER)


def stage_of(run: Runner, lead: str, bearer: str) -> str | None:
    answer = card(run, lead, bearer)
    return str(answer.json()["stage"]) if answer.status == 200 else None


def became_sql(run: Runner, lead: str, bearer: str) -> str:
    assert eventually(lambda: stage_of(run, lead, bearer) == "SQL", 30), run.log_path.read_text()
    return lead


def new_sql(run: Runner, bearer: str, anonymous_id: str, email: str) -> str:
    """A visitor of the test's own: the pricing page, then the demo form (a hand-raiser), scored to SQL."""
    page = {
        "type": "page",
        "anonymousId": anonymous_id,
        "messageId": f"pricing-{anonymous_id}",
        "context": {"page": {"path": "/demo/pricing.html", "url": f"{run.base}/demo/pricing.html"}},
        "writeKey": DEMO_WRITE_KEY,
    }
    assert run.post("/v1/p", json.dumps(page).encode(), "text/plain", auth=False) == 200
    form = f"name=Sam&email={email}&company=Acme&title=Head+of+Sales&anonymousId={anonymous_id}".encode()
    assert run.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded") in (200, 303)
    return became_sql(run, device_lead(identifiers(anonymous_id, None, None)), bearer)


def sla(run: Runner, lead: str, bearer: str) -> dict[str, Any]:
    return dict(card(run, lead, bearer).json()["sla"] or {})


def running(run: Runner, lead: str, bearer: str) -> dict[str, Any]:
    """The card once sales has the lead: its owner set and its timer running."""
    found = eventually(lambda: sla(run, lead, bearer).get("state") == "running", 15)
    assert found, run.log_path.read_text()
    return dict(card(run, lead, bearer).json())


def escalations(run: Runner, lead: str) -> list[dict[str, Any]]:
    return [n for n in run.notes() if "escalation" in n and lead in json.dumps(n)]


def owner_named(run: Runner, lead: str) -> list[dict[str, Any]]:
    """The sales notifications about the lead (not the escalations)."""
    return [n for n in run.notes() if "escalation" not in n and lead in json.dumps(n)]


@pytest.fixture(scope="module")
def waiting(runner: Runner, bearer: str) -> str:
    """The demo journey's lead (page views, then the demo-request form), once scoring made it an SQL; no
    test acts on it."""
    assert visitor_journey(runner) == [200, 200, 303]
    return became_sql(runner, device_lead(identifiers(ANON, None, None)), bearer)


def test_nobody_acts_on_the_demo_sql_so_it_is_escalated_once_and_its_card_says_breached(
    runner: Runner, bearer: str, waiting: str
) -> None:
    lead = waiting

    told = eventually(lambda: owner_named(runner, lead), 15)
    assert told, runner.notes()
    assert told[0]["text"].splitlines()[0] == f"Owner: {OWNER}"
    assert running(runner, lead, bearer)["owner"]["user"] == OWNER

    # nobody acts: the deadline passes, the reminder and the managers' message come, once each
    both = eventually(lambda: len(escalations(runner, lead)) >= 2, 2 * SLA_SECONDS + 5)
    assert both, (runner.notes(), runner.log_path.read_text())
    assert eventually(lambda: sla(runner, lead, bearer).get("state") == "breached", 5)
    time.sleep(SLA_SECONDS)  # as long again as the SLA: a second timer or a retry would have fired by now
    sent = escalations(runner, lead)
    assert sorted(n["escalation"].split(":")[0] for n in sent) == ["managers", "reminder"], sent
    managers = next(n for n in sent if n["escalation"].startswith("managers"))
    assert managers["text"].splitlines()[0] == f"Owner: {OWNER}"
    assert card(runner, lead, bearer).json()["sla"]["state"] == "breached"
    assert stage_of(runner, lead, bearer) == "SQL"  # still waiting for sales


def test_a_lead_accepted_before_its_deadline_is_never_escalated_and_its_card_says_met(
    runner: Runner, bearer: str
) -> None:
    lead = new_sql(runner, bearer, "6d0f9c1e-0000-4000-8000-00000000e2e1", "sam%40acme.example")
    due = running(runner, lead, bearer)["sla"]["due_at"]

    accepted = post(runner, f"/api/leads/{lead}/accept", bearer)

    assert accepted.status == 200, accepted.body
    time.sleep(SLA_SECONDS + 2)  # past the deadline, and past when the timer would have fired
    assert escalations(runner, lead) == []
    read = card(runner, lead, bearer).json()
    assert read["sla"]["state"] == "met", (due, read["sla"])
    assert read["sla"]["acted_by"] == OWNER
    assert read["stage"] == "accepted"
    assert [(c["to_stage"], c["by"]) for c in read["stage_history"]] == [
        ("SQL", "scoring"),
        ("accepted", OWNER),
    ]


def test_a_rejected_lead_is_recycled_and_its_history_keeps_the_reason(runner: Runner, bearer: str) -> None:
    lead = new_sql(runner, bearer, "6d0f9c1e-0000-4000-8000-00000000e2e2", "lee%40acme.example")
    reason = "student project, no budget"

    rejected = post(runner, f"/api/leads/{lead}/reject", bearer, {"reason": reason})

    assert rejected.status == 200, rejected.body
    read = card(runner, lead, bearer).json()
    assert read["stage"] == "rejected"
    last = read["stage_history"][-1]
    assert (last["to_stage"], last["by"], last["reason"]) == ("rejected", OWNER, reason)


def report_sources(run: Runner) -> Any:
    """`python -m cli report sources --json --by channel`, as an operator runs it against this runner."""
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "--endpoint",
            run.endpoint,
            "report",
            "sources",
            "--by",
            "channel",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    return json.loads(printed.stdout)


def channel_row(rows: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    [row] = [r for r in rows if r["channel"] == channel]
    return row


def test_meddic_guards_the_opportunity_and_a_won_deal_is_revenue_for_its_channel(
    runner: Runner, bearer: str
) -> None:
    lead = new_sql(runner, bearer, "6d0f9c1e-0000-4000-8000-00000000e2e3", "kim%40acme.example")
    assert post(runner, f"/api/leads/{lead}/accept", bearer).status == 200

    refused = post(runner, f"/api/leads/{lead}/progress", bearer, {"stage": "opportunity"})

    assert refused.status == 409, refused.body
    assert refused.json()["missing"] == ["metrics", "economic_buyer", "identify_pain", "champion"]
    assert stage_of(runner, lead, bearer) == "accepted"
    answers = {
        "metrics": "reply within 5 minutes",
        "economic_buyer": "the CFO",
        "identify_pain": "cold leads",
        "champion": "Priya",
    }
    qualified = post(runner, f"/api/leads/{lead}/qualify", bearer, {"answers": answers})
    assert qualified.json()["qualification"]["missing_required"] == [], qualified.body
    moved = post(runner, f"/api/leads/{lead}/progress", bearer, {"stage": "opportunity"})
    assert (moved.status, moved.json()["stage"]) == (200, "opportunity"), moved.body
    won = post(
        runner, f"/api/leads/{lead}/progress", bearer, {"stage": "won", "amount": 12000, "currency": "EUR"}
    )
    assert (won.status, won.json()["stage"]) == (200, "won"), won.body
    channel = card(runner, lead, bearer).json()["first_touch"]["channel"]

    def reported() -> Any:
        answer: Answer = runner.request(
            "GET", "/api/reports/source-quality?by=channel", headers={"Authorization": f"Bearer {bearer}"}
        )
        assert answer.status == 200, answer.body
        row = channel_row(answer.json()["rows"], channel)
        return row if row["won"] == 1 else None

    row = eventually(reported, 15)
    assert row, runner.request(
        "GET", "/api/reports/source-quality?by=channel", headers={"Authorization": f"Bearer {bearer}"}
    ).body.decode()
    assert row["revenue"] == {"EUR": 12000.0}
    # the CLI's recount reads the event archive, which ArchiveFunction fills from the stream meanwhile
    printed = eventually(
        lambda: row if (row := channel_row(report_sources(runner), channel))["won"] else None, 30
    )
    assert printed, report_sources(runner)
    assert (printed["won"], printed["revenue"]) == (1, {"EUR": 12000.0})


def test_the_sql_list_shows_the_lead_still_waiting(runner: Runner, bearer: str, waiting: str) -> None:
    answer = runner.request("GET", "/api/leads?stage=SQL", headers={"Authorization": f"Bearer {bearer}"})

    assert answer.status == 200, answer.body
    assert [row["lead_id"] for row in answer.json()["leads"]] == [waiting]
