"""The source-quality and speed-to-lead reports, from a small history with known answers: three channels
and a direct lead scored for real, two owners, deals won and lost in EUR, one breach, a lead recycled and
sent to sales again. Stage changes and timer facts are written through ScoreRepository as the sales
workflow writes them; PublishFunction publishes them and keeps the report items; the CLI and the API
answer the same figures, the API with one Query and no Scan."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from leadstream.sales.outbox import LeadEvents
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, Transition
from leadstream.tracking.attribution import Channel, Touch
from leadstream.tracking.events import BehaviourEvent, EventType
from leadstream.tracking.repository import EventRepository
from pydantic import BaseModel

from cli.__main__ import main
from tests.builders import LambdaContext, http_request, response_json, signed_in
from tests.integration.conftest import dynamodb_calls, lead_of
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

REP1, REP2 = "rep1@example.com", "rep2@example.com"
NEWSLETTER = Touch(Channel.EMAIL, "newsletter", "email", "nov")
BRAND = Touch(Channel.PAID_SEARCH, "google", "cpc", "brand")
SEARCH = Touch(Channel.ORGANIC_SEARCH, "google")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


class _Breached(BaseModel):  # what the timer's breach writes to the outbox (its contract is the SLA's)
    event_id: str
    lead_id: str
    transition_id: str


class Sales:
    """Writes what the sales workflow writes: stage changes by people or scoring, owner and timer."""

    def __init__(self, scores: ScoreRepository, events: LeadEvents, leads_table: str) -> None:
        self.scores, self.events = scores, events
        self.events_table = EventRepository(leads_table)

    def new(self, lead: str, touch: Touch) -> None:
        score = LeadScore(lead_id=lead, known=True, first_touch=touch, first_seen=T0, last_seen=T0)
        self.scores.save(self.scores.load(lead), score)
        # and the event it came by, in the event archive's history (the CLI's recount reads the archive)
        came = BehaviourEvent(
            f"{lead}-first", EventType.IDENTIFY, T0, fit_traits={"email_kind": "work"}, touch=touch
        )
        self.events_table.record(lead, came, T0 + timedelta(days=30), T0)

    def move(self, lead: str, to: Stage, seconds: int, **who: Any) -> str:
        """The lead moved to `to` at T0 + seconds; its transition id."""
        stored = self.scores.load(lead)
        count = stored.score.transition_count + 1
        t = Transition(
            f"{lead}:{to.value}:{count}",
            stored.score.stage,
            to,
            T0 + timedelta(seconds=seconds),
            80.0,
            model_version=None if who.get("by") else 1,
            **who,
        )
        score = replace(stored.score, stage=to, transition_count=count, transitions=(t,))
        self.scores.save(stored, score)
        return t.id

    def timer(self, lead: str, fresh: bool = False, **sla: Any) -> None:
        """The lead's speed-to-lead timer (and owner) as the SLA's writes leave them (`fresh`: a new one);
        a breach also tells the bus."""
        stored = self.scores.load(lead)
        sales = {**stored.sales, "owner": sla.pop("owner", stored.sales.get("owner"))}
        before = {} if fresh else stored.sales.get("sla") or {}
        sla = {**before, **sla}
        also = []
        if sla.get("state") == "breached" and before.get("state") != "breached":
            breach = _Breached(
                event_id=f"{sla['transition_id']}:breached", lead_id=lead, transition_id=sla["transition_id"]
            )
            also.append(self.events.put(lead, "Lead SLA Breached", breach))
        self.scores.save(
            replace(stored, sales={**sales, "sla": sla}), replace(stored.score, transitions=()), also=also
        )

    def hand_over(self, lead: str, seconds: int, owner: str, hand_raiser: bool = False) -> str:
        sql = self.move(lead, Stage.SQL, seconds, hand_raiser=hand_raiser)
        at = (T0 + timedelta(seconds=seconds)).timestamp()
        self.timer(
            lead, fresh=True, owner=owner, transition_id=sql, state="running", started_at=at, due_at=at + 300
        )
        return sql

    def act(self, lead: str, to: Stage, seconds: int, by: str) -> None:
        """Accept or reject: the first action on a running timer meets it; a breached one only records it."""
        self.move(lead, to, seconds, by=by)
        sla = self.scores.load(lead).sales["sla"]
        if "acted_at" not in sla:
            met = {"state": "met"} if sla["state"] == "running" else {}
            self.timer(lead, acted_at=(T0 + timedelta(seconds=seconds)).timestamp(), acted_by=by, **met)


def run(capsys: Any, moto_endpoint: str, *args: str) -> Any:
    capsys.readouterr()
    code = main(["--endpoint", moto_endpoint, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def report(api: Any, path: str, user: Any = None, query: str = "") -> dict[str, Any]:
    event = http_request(
        path + (f"?{query}" if query else ""),
        route=path,
        method="GET",
        write_key=None,
        user=user if user is not None else signed_in("marketing"),
    )
    return api.lambda_handler(event, CTX)  # type: ignore[no-any-return]


@pytest.fixture
def history(track, form, score, publish, new_records, filters, scores, leads_table) -> dict[str, str]:
    """The small history, published (every outbox record twice: redelivered) and the leads' ids."""
    sales = Sales(scores, LeadEvents(leads_table), leads_table)

    def published() -> None:
        records = new_records(filters["PublishFunction"])
        for _ in range(2):
            assert publish.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}

    # E: scored for real to SQL (a demo request), nobody owns it yet, no timer: waiting
    visit_and_request_demo(track, form, anonymous_id="e")
    assert (
        score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)["batchItemFailures"]
        == []
    )
    published()
    for lead, touch in (("A", NEWSLETTER), ("B", NEWSLETTER), ("C", BRAND), ("D", SEARCH)):
        sales.new(lead, touch)
    # A: accepted in 2 minutes, an opportunity, won for 12,000 EUR
    sales.hand_over("A", 0, REP1)
    published()
    sales.act("A", Stage.ACCEPTED, 120, REP1)
    sales.move("A", Stage.OPPORTUNITY, 200, by=REP1)
    sales.move("A", Stage.WON, 300, by=REP1, amount=12000.0, currency="EUR", reason="annual plan")
    published()
    # B: nobody acted in 5 minutes (the breach), accepted at 10, lost 5,000 EUR
    sql = sales.hand_over("B", 0, REP1)
    sales.timer(
        "B", state="breached", breached_at=(T0 + timedelta(seconds=300)).timestamp(), transition_id=sql
    )
    published()
    sales.act("B", Stage.ACCEPTED, 600, REP1)
    sales.move("B", Stage.LOST, 700, by=REP1, amount=5000.0, currency="EUR", reason="went with a rival")
    published()
    # C: a hand-raiser nobody has acted on yet (its timer still running)
    sales.hand_over("C", 0, REP2, hand_raiser=True)
    published()
    # D: rejected in a minute (recycled to nurturing), scored to SQL again, accepted in 90 seconds
    sales.hand_over("D", 0, REP2)
    sales.act("D", Stage.REJECTED, 60, REP2)
    published()
    sales.hand_over("D", 1000, REP2)
    published()
    sales.act("D", Stage.ACCEPTED, 1090, REP2)
    published()
    return {"E": lead_of("e")}


SPEED = "/api/reports/speed-to-lead"
QUALITY = "/api/reports/source-quality"
STAGES = ("mqls", "sqls", "accepted", "rejected", "opportunities", "won", "lost", "revenue")


def test_speed_to_lead_per_owner_channel_and_campaign_with_the_breach_and_the_recycled_lead(
    api, history, moto_endpoint, capsys
):
    with dynamodb_calls() as calls:
        answer = report(api, SPEED)

    assert answer["statusCode"] == 200, answer["body"]
    assert calls == {"Query": 1}  # one Query of the hand-overs: no Scan, nothing per lead
    speed = response_json(answer)
    assert speed["percentiles"] == "nearest-rank"
    # hand-overs: A 120 s (met), B 600 s (breached), C waiting, D 60 s and D again 90 s (met), E waiting
    assert speed["total"] == {
        "owner": None,
        "channel": None,
        "campaign": None,
        "handovers": 6,
        "acted": 4,
        "met": 3,
        "breached": 1,
        "waiting": 2,
        "p50_seconds": 90.0,  # [60, 90, 120, 600]: the ceil(0.5 * 4) = 2nd
        "p95_seconds": 600.0,  # the ceil(0.95 * 4) = 4th
    }
    owners = {r["owner"]: r for r in speed["by_owner"]}
    assert {
        o: (r["handovers"], r["acted"], r["met"], r["breached"], r["waiting"]) for o, r in owners.items()
    } == {
        REP1: (2, 2, 1, 1, 0),
        REP2: (3, 2, 2, 0, 1),
        "(unassigned)": (1, 0, 0, 0, 1),
    }
    assert (owners[REP1]["p50_seconds"], owners[REP1]["p95_seconds"]) == (120.0, 600.0)
    assert (owners[REP2]["p50_seconds"], owners[REP2]["p95_seconds"]) == (60.0, 90.0)
    channels = {r["channel"]: (r["handovers"], r["breached"], r["p50_seconds"]) for r in speed["by_channel"]}
    assert channels == {
        "email": (2, 1, 120.0),
        "organic search": (2, 0, 60.0),
        "paid search": (1, 0, None),
        "direct": (1, 0, None),
    }
    campaigns = {(r["channel"], r["campaign"]): r["handovers"] for r in speed["by_campaign"]}
    assert campaigns == {
        ("email", "nov"): 2,
        ("organic search", "-"): 2,
        ("paid search", "brand"): 1,
        ("direct", "-"): 1,
    }

    assert run(capsys, moto_endpoint, "report", "speed", "--json") == speed  # the CLI: the same figures
    capsys.readouterr()
    assert main(["--endpoint", moto_endpoint, "report", "speed"]) == 0
    table = capsys.readouterr().out
    assert "percentiles nearest-rank" in table
    assert any(line.split()[:5] == [REP1, "2", "2", "2m00s", "10m00s"] for line in table.splitlines()), table


def test_source_quality_to_revenue_counts_each_lead_once_per_stage_from_its_history(
    api, history, archive_stream, moto_endpoint, capsys
):
    with dynamodb_calls() as calls:
        answer = report(api, QUALITY)

    assert answer["statusCode"] == 200, answer["body"]
    assert calls == {"Query": 1}
    quality = response_json(answer)
    assert (quality["touch"], quality["by"], quality["since"], quality["until"]) == (
        "first",
        "campaign",
        None,
        None,
    )
    rows = {(r["channel"], r["campaign"]): r for r in quality["rows"]}
    assert rows[("email", "nov")] == {
        "channel": "email",
        "campaign": "nov",
        "visitors": None,  # only the CLI's recount sees visitors and leads
        "leads": None,
        "mqls": 2,
        "sqls": 2,
        "accepted": 2,
        "rejected": 0,
        "opportunities": 1,
        "won": 1,
        "lost": 1,
        "revenue": {"EUR": 12000.0},  # won deals only: B's lost 5,000 is not revenue
        "visitor_to_lead": None,
        "lead_to_mql": None,
        "mql_to_sql": 1.0,
        "sql_to_accepted": 1.0,
        "accepted_to_opportunity": 0.5,
        "opportunity_to_won": 1.0,
        "touch": "first",
    }
    # D reached SQL twice: one SQL, one rejection, one acceptance
    assert [rows[("organic search", "-")][s] for s in STAGES] == [1, 1, 1, 1, 0, 0, 0, {}]
    assert [rows[("paid search", "brand")][s] for s in STAGES] == [1, 1, 0, 0, 0, 0, 0, {}]
    assert [rows[("direct", "-")][s] for s in STAGES] == [1, 1, 0, 0, 0, 0, 0, {}]

    # the CLI's exact recount (from the event archive) agrees, and has visitors and leads
    archive_stream()
    recount = {
        (r["channel"], r["campaign"]): r for r in run(capsys, moto_endpoint, "report", "sources", "--json")
    }
    for key, row in rows.items():
        assert [recount[key][s] for s in STAGES] == [row[s] for s in STAGES], key
    assert (recount[("email", "nov")]["visitors"], recount[("email", "nov")]["leads"]) == (2, 2)
    capsys.readouterr()
    assert main(["--endpoint", moto_endpoint, "report", "sources"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("By first touch, all time")
    assert "EUR 12,000.00" in table

    by_channel = response_json(report(api, QUALITY, query="by=channel"))["rows"]
    assert (by_channel[0]["channel"], by_channel[0]["campaign"], by_channel[0]["won"]) == ("email", "*", 1)


def test_a_period_keeps_the_days_asked_for(api, history):
    today = datetime.now(UTC).date()
    later = (today + timedelta(days=1)).isoformat()

    quality = response_json(report(api, QUALITY, query=f"since={later}"))
    speed = response_json(report(api, SPEED, query=f"since={today.replace(day=1).isoformat()}&until={today}"))

    assert quality["rows"] == []
    assert speed["total"]["handovers"] == (6 if T0.date() == today else 0)


def test_who_may_read_the_reports_and_what_a_bad_period_answers(api, aws):
    assert report(api, SPEED, user=signed_in())["statusCode"] == 403  # signed in, but no role
    for user in (signed_in("sales"), signed_in("marketing"), signed_in("admin")):
        assert report(api, QUALITY, user=user)["statusCode"] == 200
    no_token = http_request(SPEED, route=SPEED, method="GET", write_key=None)
    assert api.lambda_handler(no_token, CTX)["statusCode"] == 401

    bad = report(api, SPEED, query="since=2026-02-30")
    assert bad["statusCode"] == 400
    assert [d["field"] for d in response_json(bad)["details"]] == ["since"]
    reversed_ = report(api, QUALITY, query="since=2026-11-02&until=2026-11-01")
    assert reversed_["statusCode"] == 400
    assert "since is after until" in response_json(reversed_)["error"]


def test_the_openapi_document_describes_the_reports(api, aws):
    answer = api.lambda_handler(http_request("/api/openapi.json", method="GET", write_key=None), CTX)
    document = response_json(answer)

    assert {SPEED, QUALITY} <= set(document["paths"])
    assert {"SpeedToLead", "SourceQuality", "SpeedRow", "QualityRow"} <= set(
        document["components"]["schemas"]
    )
    assert date.today()  # (the period parameters are dates)
    params = {p["name"] for p in document["paths"][SPEED]["get"]["parameters"]}
    assert params == {"since", "until"}


def test_speed_to_lead_distribution_counts_the_acted_on_hand_overs_by_time_to_first_action(api, history):
    speed = response_json(report(api, SPEED))

    # acted on in 60 s (D), 90 s (D again), 120 s (A), 600 s (B); C and E still wait, so they are in none
    assert [(b["label"], b["count"]) for b in speed["distribution"]] == [
        ("<1 min", 0),
        ("1-5 min", 3),
        ("5-15 min", 1),
        ("15-60 min", 0),
        (">1 h", 0),
    ]
    assert sum(b["count"] for b in speed["distribution"]) == speed["total"]["acted"]
    assert [(b["min_seconds"], b["max_seconds"]) for b in speed["distribution"]][-1] == (3600.0, None)


SCORES = "/api/reports/score-distribution"


def test_score_distribution_counts_each_stage_s_listed_leads_by_their_score_now_without_a_scan(api, history):
    with dynamodb_calls() as calls:
        answer = report(api, SCORES)

    assert answer["statusCode"] == 200, answer["body"]
    assert calls == {"Query": len(Stage)}  # one Query of LeadsByStage per stage, nothing per lead, no Scan
    found = response_json(answer)
    stages = {s["stage"]: s for s in found["stages"]}
    assert {s: (r["leads"], r["truncated"]) for s, r in stages.items() if r["leads"]} == {
        "won": (1, False),  # A
        "lost": (1, False),  # B
        "SQL": (2, False),  # C, and E (scored for real)
        "accepted": (1, False),  # D
    }
    assert found["max_per_stage"] == 2000
    assert [b["label"] for b in stages["SQL"]["buckets"]] == [
        "<0", "0-24", "25-49", "50-74", "75-99", "100-124", "125-149", "150+",
    ]  # fmt: skip
    # E's bucket is the one its score in the leads list falls in (A..D have no points: 0-24)
    listed = response_json(report(api, "/api/leads", query="stage=SQL"))["leads"]
    e_score = next(r["score"] for r in listed if r["lead_id"] == history["E"])
    e_bucket = next(
        b["label"]
        for b in stages["SQL"]["buckets"]
        if (b["low"] is None or e_score >= b["low"]) and (b["high"] is None or e_score < b["high"])
    )
    counts = {b["label"]: b["count"] for b in stages["SQL"]["buckets"] if b["count"]}
    assert counts == ({"0-24": 2} if e_bucket == "0-24" else {"0-24": 1, e_bucket: 1})
    assert e_score >= 75  # E asked for a demo: an SQL by its score

    for user in (signed_in("sales"), signed_in("admin")):
        assert report(api, SCORES, user=user)["statusCode"] == 200
    assert report(api, SCORES, user=signed_in())["statusCode"] == 403


def test_a_stage_past_the_bound_is_counted_from_its_latest_changed_leads_and_says_so(api, history):
    from functions.api import reports  # the route's reader, with a bound of one lead a stage

    distribution = reports.lists.score_distribution(1, datetime.now(UTC))
    stages = {s.stage: s for s in distribution.stages}

    assert (stages["SQL"].leads, stages["SQL"].truncated) == (1, True)  # two SQLs, one counted
    assert (stages["won"].leads, stages["won"].truncated) == (1, False)
    assert sum(b.count for b in stages["SQL"].buckets) == 1
    document = response_json(
        api.lambda_handler(http_request("/api/openapi.json", method="GET", write_key=None), CTX)
    )
    assert SCORES in document["paths"]
    assert {"ScoreDistribution", "StageScores", "ScoreBucket", "SpeedBucket"} <= set(
        document["components"]["schemas"]
    )
