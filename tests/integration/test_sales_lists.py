"""ApiFunction's lists and the account card in-process against moto: GET /api/leads (filters, sorting,
cursors), GET /api/accounts, GET /api/accounts/{domain}, served by the template's indexes and never by a
Scan; and the LeadCard's owner, SLA and page titles.

Leads are written as the sales workflow writes them (ScoreRepository.save, the one writer of STATE) or
scored through the handlers from real tracking calls."""

import dataclasses
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from leadstream.accounts.model import AccountStage
from leadstream.accounts.repository import AccountLedger, Stored
from leadstream.accounts.score import AccountState, MemberMark, ScorePoint
from leadstream.identity.profile import Profile
from leadstream.identity.repository import IdentityRepository, ProfileRepository
from leadstream.sales.owners import Owners
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.attribution import Channel, Touch
from openapi_spec_validator import validate

from tests.builders import LambdaContext, http_request, page_view, response_json, signed_in
from tests.integration.conftest import dynamodb_calls, lead_of
from tests.integration.test_hand_raise_and_pql import told_sales
from tests.integration.test_sales_api import card_request
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SALES = signed_in("sales", email="rep@example.com")
READS = {"Query", "BatchGetItem", "GetItem"}


def list_request(path: str = "/api/leads", user: Any = SALES, **params: Any) -> dict[str, Any]:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return http_request(f"{path}?{query}" if query else path, method="GET", write_key=None, user=user)


def listed(api: Any, **params: Any) -> dict[str, Any]:
    answer = api.lambda_handler(list_request(**params), CTX)
    assert answer["statusCode"] == 200, answer["body"]
    return dict(response_json(answer))


def ids(page: dict[str, Any]) -> list[str]:
    return [row["lead_id"] for row in page["leads"]]


def every_page(api: Any, **params: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = listed(api, **params, cursor=cursor)
        pages.append(ids(page))
        cursor = page["cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


@pytest.fixture
def jane(track: Any, form: Any, score: Any, account: Any, new_records: Any, filters: Any) -> str:
    """Jane's journey (three pages, the demo form as a VP), scored and rolled up into her account acme.com:
    an SQL; the lead her card is under."""
    visit_and_request_demo(track, form, title="VP Marketing")
    for function, handler in (("ScoreFunction", score), ("AccountFunction", account)):
        records = new_records(filters[function])
        assert handler.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}
    return lead_of("anon-1")


@pytest.fixture
def put_lead(aws: dict[str, Any], leads_table: str) -> Any:
    """Writes a lead's STATE (and PROFILE) as the workflow does: load, replace, save. Each write is a
    change, so leads put later are newer."""
    scores, profiles = ScoreRepository(leads_table), ProfileRepository(leads_table)

    def put(
        lead_id: str,
        stage: Stage,
        *,
        known: bool = True,
        behaviour: float = 10.0,
        fit: int = 0,
        channel: Channel = Channel.DIRECT,
        campaign: str | None = None,
        sales: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> str:
        stored = scores.load(lead_id)
        now = datetime.now(UTC)
        score = dataclasses.replace(
            stored.score,
            stage=stage,
            known=known,
            behaviour=behaviour,
            as_of=now,
            fit_points={"work_email": fit} if fit else {},
            contributions={"pricing_page": (int(behaviour), 1)} if behaviour else {},
            first_touch=Touch(channel=channel, campaign=campaign),
            last_seen=now,
        )
        scores.save(dataclasses.replace(stored, sales=sales or stored.sales), score)
        if name:
            profiles.save(Profile(lead_id=lead_id, name=name, title="CTO", company="Initech"), now)
        time.sleep(0.002)  # a distinct `updated` (ms) per write, as changes of real leads have
        return lead_id

    return put


def test_without_a_stage_every_stage_sales_works_is_merged_newest_first_and_anonymous_visitors_are_not(
    api: Any, put_lead: Any
) -> None:
    put_lead("Lmql", Stage.MQL)
    put_lead("Lsql", Stage.SQL)
    put_lead("Lknown", Stage.LEAD)
    put_lead("Lanonymous", Stage.LEAD, known=False)
    put_lead("Laccepted", Stage.ACCEPTED)

    assert ids(listed(api)) == ["Laccepted", "Lsql", "Lmql"]
    assert ids(listed(api, stage="lead")) == ["Lknown"]  # asked for; the anonymous visitor never is
    assert ids(listed(api, stage="SQL,accepted")) == ["Laccepted", "Lsql"]
    assert ids(listed(api, stage="mql")) == ["Lmql"]


def test_each_filter_narrows_the_list(api: Any, put_lead: Any) -> None:
    put_lead("Lhot", Stage.SQL, behaviour=80, fit=20, channel=Channel.PAID_SEARCH, campaign="spring")
    put_lead("Lwarm", Stage.MQL, behaviour=55, channel=Channel.PAID_SEARCH, campaign="autumn")
    running = {"state": "running", "started_at": time.time(), "due_at": time.time() + 300}
    mine = {"owner": "rep@example.com", "owner_at": time.time(), "sla": running}
    put_lead("Lmine", Stage.SQL, behaviour=40, channel=Channel.EMAIL, sales=mine)
    breached = {**running, "state": "breached", "breached_at": time.time()}
    put_lead(
        "Ltheirs", Stage.SQL, sales={"owner": "other@example.com", "owner_at": time.time(), "sla": breached}
    )

    assert ids(listed(api, min_score=60)) == ["Lhot"]
    assert ids(listed(api, channel="paid search")) == ["Lwarm", "Lhot"]
    assert ids(listed(api, campaign="spring")) == ["Lhot"]
    assert ids(listed(api, owner="me")) == ["Lmine"]
    assert ids(listed(api, owner="other@example.com")) == ["Ltheirs"]
    assert ids(listed(api, owner="me", stage="MQL")) == []
    assert ids(listed(api, sla="breached")) == ["Ltheirs"]
    assert ids(listed(api, sla="running", channel="email")) == ["Lmine"]

    [row] = listed(api, owner="me")["leads"]
    assert (row["owner"], row["sla_state"], row["channel"]) == ("rep@example.com", "running", "email")
    assert row["sla_due_at"] is not None


def test_min_score_is_the_score_now_decay_included(api: Any, put_lead: Any, leads_table: str) -> None:
    put_lead("Lfaded", Stage.MQL, behaviour=70)
    scores = ScoreRepository(leads_table)
    stored = scores.load("Lfaded")  # its points were earned three half-lives ago: 70 then, under 9 now
    long_ago = datetime.now(UTC) - timedelta(days=3 * api.model.half_life_days)
    scores.save(stored, dataclasses.replace(stored.score, as_of=long_ago))
    put_lead("Lfresh", Stage.MQL, behaviour=30)

    assert ids(listed(api, min_score=20)) == ["Lfresh"]
    assert listed(api)["leads"][1]["score"] == pytest.approx(70 / 8, abs=0.2)


def test_updated_since_lists_only_the_leads_changed_since(api: Any, put_lead: Any) -> None:
    put_lead("Lolder", Stage.SQL)
    time.sleep(0.05)
    since = datetime.now(UTC)
    put_lead("Lnewer", Stage.MQL)

    assert ids(listed(api, updated_since=since.isoformat())) == ["Lnewer"]
    assert ids(listed(api, updated_since=since.isoformat(), sort="score")) == ["Lnewer"]
    assert ids(listed(api, updated_since=(since - timedelta(hours=1)).isoformat())) == ["Lnewer", "Lolder"]


def test_pages_of_the_merged_partitions_give_every_lead_exactly_once_newest_first(
    api: Any, put_lead: Any
) -> None:
    stages = [Stage.MQL, Stage.SQL, Stage.ACCEPTED, Stage.WON, Stage.REJECTED]
    written = [put_lead(f"L{n:02d}", stages[n % len(stages)], behaviour=n) for n in range(23)]

    pages = every_page(api, limit=4)

    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 3]
    assert [lead for page in pages for lead in page] == written[::-1]


def test_pages_sorted_by_score_give_every_lead_once_highest_first(api: Any, put_lead: Any) -> None:
    for n in range(11):
        put_lead(f"L{n:02d}", Stage.SQL if n % 2 else Stage.MQL, behaviour=(n * 7) % 11 + 1)

    pages = every_page(api, sort="score", limit=3)

    leads = [lead for page in pages for lead in page]
    assert sorted(leads) == [f"L{n:02d}" for n in range(11)]
    scores = [(n * 7) % 11 + 1 for n in (int(lead[1:]) for lead in leads)]
    assert scores == sorted(scores, reverse=True)


def test_sorted_by_due_the_soonest_deadline_comes_first_and_leads_without_a_clock_after(
    api: Any, put_lead: Any
) -> None:
    now = time.time()

    def clock(state: str, due_in: float) -> dict[str, Any]:
        return {"sla": {"state": state, "started_at": now - 60, "due_at": now + due_in}}

    put_lead("Llater", Stage.SQL, sales=clock("running", 240))
    put_lead("Lnoclock", Stage.SQL)
    put_lead("Lbreached", Stage.SQL, sales=clock("breached", -120))
    put_lead("Lsoon", Stage.PQL, sales=clock("running", 30))
    put_lead("Lmet", Stage.SQL, sales=clock("met", -300))

    assert every_page(api, stage="SQL,PQL", sort="due", limit=2) == [
        ["Lbreached", "Lsoon"],
        ["Llater", "Lmet"],  # met: nobody must act any more, so no deadline (ties: by lead id)
        ["Lnoclock"],
    ]


def test_a_hand_raiser_is_listed_as_one_with_its_deadline(
    api: Any,
    track: Any,
    form: Any,
    score: Any,
    publish: Any,
    notify: Any,
    new_records: Any,
    filters: Any,
    published: Any,
    handed_over: Any,
) -> None:
    visit_and_request_demo(track, form, email="jane@gmail.com", title="Founder")  # too low to be an SQL
    told_sales(score, publish, notify, new_records, filters, published, handed_over)

    [row] = listed(api, stage="SQL", sort="due")["leads"]

    assert (row["lead_id"], row["stage"], row["hand_raiser"], row["sla_state"]) == (
        lead_of("anon-1"),
        "SQL",
        True,
        "running",
    )
    assert row["sla_due_at"] is not None


def test_a_filtered_list_pages_through_its_matches_only(api: Any, put_lead: Any) -> None:
    for n in range(9):
        put_lead(f"L{n}", Stage.SQL, channel=Channel.EMAIL if n % 3 == 0 else Channel.DIRECT)

    assert every_page(api, channel="email", limit=2) == [["L6", "L3"], ["L0"]]


def test_a_bad_cursor_or_one_of_another_query_is_a_400_naming_the_cursor(api: Any, put_lead: Any) -> None:
    for n in range(3):
        put_lead(f"L{n}", Stage.SQL)
    cursor = listed(api, limit=1)["cursor"]

    for bad in ("not-a-cursor", "eyJxIjoxfQ", cursor[:-3], cursor + "AAAA"):
        answer = api.lambda_handler(list_request(cursor=bad), CTX)
        assert answer["statusCode"] == 400, bad
        assert [d["field"] for d in response_json(answer)["details"]] == ["cursor"]
    other = api.lambda_handler(list_request(limit=1, cursor=cursor, stage="SQL"), CTX)
    assert other["statusCode"] == 400
    assert "other filters" in response_json(other)["error"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "SQL,hot"}, "stage"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"sla": "late"}, "sla"),
        ({"sort": "name"}, "sort"),
        ({"min_score": "high"}, "min_score"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"account": "<b>acme</b>"}, "account"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api: Any, params: dict[str, Any], field: str) -> None:
    answer = api.lambda_handler(list_request(**params), CTX)

    assert answer["statusCode"] == 400
    assert [d["field"] for d in response_json(answer)["details"]] == [field]
    assert "<b>" not in answer["body"]


def test_owner_me_needs_a_token_with_an_email(api: Any) -> None:
    answer = api.lambda_handler(list_request(user=signed_in("sales"), owner="me"), CTX)

    assert answer["statusCode"] == 400
    assert [d["field"] for d in response_json(answer)["details"]] == ["owner"]


def test_listing_makes_no_scan_only_queries_and_key_reads(
    api: Any,
    put_lead: Any,
    jane: str,
) -> None:
    for n in range(5):
        put_lead(f"L{n}", Stage.SQL, sales={"owner": "rep@example.com", "owner_at": time.time()})
    requests = [
        {},
        {"limit": 2},
        {"stage": "lead", "min_score": 5, "channel": "direct", "sla": "running"},
        {"owner": "me"},
        {"sort": "score", "updated_since": "2020-01-01T00:00:00Z"},
        {"account": "acme.com"},
    ]

    with dynamodb_calls() as calls:
        for params in requests:
            listed(api, **params)
        for path in ("/api/accounts", "/api/accounts/acme.com"):
            assert api.lambda_handler(list_request(path), CTX)["statusCode"] == 200

    assert "Scan" not in calls
    assert set(calls) <= READS, calls
    assert calls["Query"] >= len(requests)


def test_a_merged_lead_is_not_listed(api: Any, put_lead: Any, leads_table: str) -> None:
    put_lead("Lroot", Stage.SQL)
    put_lead("Lmerged", Stage.MQL, sales={"owner": "rep@example.com", "owner_at": time.time()})
    assert ids(listed(api)) == ["Lmerged", "Lroot"]

    assert IdentityRepository(leads_table).merge("Lmerged", "Lroot")

    assert ids(listed(api)) == ["Lroot"]
    assert ids(listed(api, owner="me")) == []


def test_the_demo_journeys_lead_is_listed_with_its_contact_account_and_reasons(
    api: Any,
    jane: str,
) -> None:
    [row] = listed(api)["leads"]

    assert row["lead_id"] == jane
    assert (row["name"], row["title"], row["company"]) == ("Jane Doe", "VP Marketing", "Acme")
    assert (row["account"], row["stage"]) == ("acme.com", "SQL")
    assert row["reasons"][0]["label"] == "Requested a demo"
    assert row["channel"] == "direct"
    assert ids(listed(api, account="acme.com")) == [jane]
    assert ids(listed(api, account="acme.com", stage="MQL")) == []
    assert ids(listed(api, account="initech.com")) == []


def test_the_account_list_and_card(api: Any, jane: str) -> None:
    answer = api.lambda_handler(list_request("/api/accounts"), CTX)
    assert answer["statusCode"] == 200, answer["body"]
    [account] = response_json(answer)["accounts"]
    assert (account["domain"], account["people"]) == ("acme.com", 1)

    card = response_json(api.lambda_handler(list_request("/api/accounts/acme.com"), CTX))

    assert (card["domain"], card["name"], card["people"], card["anonymous_people"]) == (
        "acme.com",
        "Acme",
        1,
        0,
    )
    assert card["score"] == pytest.approx(card["engagement"] + card["fit"] + card["committee"], abs=0.2)
    [person] = card["people_known"]
    assert person["lead_id"] == jane
    assert (person["name"], person["title"], person["stage"]) == ("Jane Doe", "VP Marketing", "SQL")
    assert person["role"] is not None
    assert card["roles"][person["role"]] == 1
    assert card["people_known_count"] == 1
    at_its_stage = response_json(api.lambda_handler(list_request("/api/accounts", stage=card["stage"]), CTX))
    others = ",".join(s for s in ("account", "engaged", "MQA") if s != card["stage"])
    elsewhere = response_json(api.lambda_handler(list_request("/api/accounts", stage=others), CTX))
    assert [a["domain"] for a in at_its_stage["accounts"]] == ["acme.com"]
    assert elsewhere["accounts"] == []


def test_accounts_page_newest_first_across_stages_each_once_and_empty_ones_are_left_out(
    api: Any, stack: Any, leads_table: str
) -> None:
    ledger = AccountLedger(stack.physical_name("AccountsTable"), leads_table)
    stages = [AccountStage.ACCOUNT, AccountStage.ENGAGED, AccountStage.MQA]
    for n in range(7):
        state = AccountState(f"co{n}.example", stage=stages[n % 3], people=0 if n == 3 else 1)
        ledger.save(Stored(AccountState(state.domain)), state, [], [], datetime.now(UTC))
        time.sleep(0.002)

    pages, cursor = [], None
    while True:
        answer = api.lambda_handler(list_request("/api/accounts", limit=2, cursor=cursor), CTX)
        assert answer["statusCode"] == 200, answer["body"]
        page = response_json(answer)
        pages.append([a["domain"] for a in page["accounts"]])
        if (cursor := page["cursor"]) is None:
            break

    assert [d for p in pages for d in p] == [f"co{n}.example" for n in (6, 5, 4, 2, 1, 0)]
    assert all(len(p) == 2 for p in pages[:-1])


def test_an_account_nobody_scored_is_404_and_a_bad_domain_400(api: Any) -> None:
    unknown = api.lambda_handler(list_request("/api/accounts/nobody.example"), CTX)
    malformed = api.lambda_handler(list_request("/api/accounts/a%20b"), CTX)

    assert (unknown["statusCode"], response_json(unknown)["error"]) == (404, "no account 'nobody.example'")
    assert malformed["statusCode"] == 400


@pytest.mark.parametrize("path", ["/api/leads", "/api/accounts", "/api/accounts/acme.com"])
def test_every_role_may_list_and_no_role_is_403_no_token_401(api: Any, path: str) -> None:
    for groups in (("sales",), ("marketing",), ("admin",)):
        answer = api.lambda_handler(list_request(path, user=signed_in(*groups)), CTX)
        assert answer["statusCode"] in (200, 404), answer["body"]
    assert api.lambda_handler(list_request(path, user=signed_in("guests")), CTX)["statusCode"] == 403
    assert api.lambda_handler(list_request(path, user=None), CTX)["statusCode"] == 401


def test_listing_logs_no_personal_data(
    api: Any,
    jane: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert listed(api, owner="me")["leads"] == []
        assert listed(api)["leads"]
        api.lambda_handler(list_request("/api/accounts/acme.com"), CTX)
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text

    assert "leads listed" in logged
    for personal in ("jane@acme.com", "Jane Doe", "VP Marketing", "rep@example.com"):
        assert personal not in logged


def test_the_card_shows_the_owner_and_the_sla_from_state(
    api: Any,
    jane: str,
    leads_table: str,
) -> None:
    scores = ScoreRepository(leads_table)
    stored = scores.load(jane)
    started = time.time()
    sla = {"state": "met", "started_at": started, "due_at": started + 300, "transition_id": "t"}
    sla |= {"acted_at": started + 60, "acted_by": "rep@example.com"}
    sales = {"owner": "rep@example.com", "owner_at": started, "sla": sla}
    # the sales fields alone change: no stage change, so no transition is written again
    scores.save(dataclasses.replace(stored, sales=sales), dataclasses.replace(stored.score, transitions=()))

    card = response_json(api.lambda_handler(card_request(jane, SALES), CTX))

    assert card["owner"]["user"] == "rep@example.com"
    assert datetime.fromisoformat(card["owner"]["assigned_at"]).timestamp() == pytest.approx(
        started, abs=0.01
    )
    assert card["sla"]["state"] == "met"
    assert datetime.fromisoformat(card["sla"]["due_at"]).timestamp() == pytest.approx(started + 300, abs=0.01)
    assert card["sla"]["acted_by"] == "rep@example.com"
    assert card["sla"]["breached_at"] is None


def test_the_cards_timeline_shows_a_segment_pages_title_as_data(
    api: Any, track: Any, score: Any, new_records: Any, filters: Any
) -> None:
    title = "<script>alert(1)</script> Pricing " + "x" * 400
    page = {**page_view("anon-9", "/pricing"), "properties": {"title": title}}
    assert track.lambda_handler(http_request("/v1/page", page), CTX)["statusCode"] == 200
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    card = response_json(api.lambda_handler(card_request(lead_of("anon-9"), SALES), CTX))

    [viewed] = card["activity"]
    assert viewed["path"] == "/pricing"
    assert viewed["name"] == title[:200]  # bounded, and returned as the JSON string it is


def test_the_openapi_document_describes_the_lists_filters_and_answers(api: Any) -> None:
    document = json.loads(
        api.lambda_handler(http_request("/api/openapi.json", method="GET", write_key=None), CTX)["body"]
    )
    validate(document)

    leads = document["paths"]["/api/leads"]["get"]
    described = {p["name"]: p.get("description") for p in leads["parameters"]}
    expected = {"stage", "min_score", "account", "channel", "campaign", "owner", "sla", "updated_since"}
    assert expected | {"sort", "limit", "cursor"} <= set(described)
    assert all(described[name] for name in described)
    assert leads["security"] == [{"cognito": []}]
    assert leads["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LeadList"
    }
    assert "/api/accounts" in document["paths"]
    card = document["paths"]["/api/accounts/{domain}"]["get"]
    assert card["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AccountDetail"
    }


def account_card(api: Any, domain: str = "acme.com") -> dict[str, Any]:
    answer = api.lambda_handler(list_request(f"/api/accounts/{domain}"), CTX)
    assert answer["statusCode"] == 200, answer["body"]
    return dict(response_json(answer))


def test_the_card_names_every_committee_role_with_its_people_and_the_missing_ones_and_the_owner(
    api: Any, jane: str, stack: Any
) -> None:
    assert account_card(api)["owner"] is None
    owners = Owners(stack.physical_name("AccountsTable"))
    owners.set_account_owner("acme.com", "anna@example.com", datetime.now(UTC))

    card = account_card(api)

    assert card["owner"] == "anna@example.com"

    roles = {r["id"]: r for r in card["committee_roles"]}
    [person] = card["people_known"]
    assert list(roles) == list(card["roles"])  # every role of the model, in its order
    assert roles[person["role"]]["people"] == 1
    assert roles[person["role"]]["label"]
    assert {r for r, role in roles.items() if role["people"] == 0} == set(roles) - {person["role"]}


def test_the_card_keeps_a_score_point_a_day_and_the_stage_changes(
    api: Any, jane: str, track: Any, form: Any, score: Any, account: Any, new_records: Any, filters: Any
) -> None:
    first = account_card(api)["history"]
    [point] = first["points"]
    assert (point["people"], point["stage"]) == (
        1,
        first["stage_changes"][-1]["to_stage"] if first["stage_changes"] else "account",
    )
    assert point["score"] == pytest.approx(point["engagement"] + point["fit"] + point["committee"], abs=0.2)

    visit_and_request_demo(track, form, anonymous_id="anon-2", email="john@acme.com", title="CFO")
    for function, handler in (("ScoreFunction", score), ("AccountFunction", account)):
        assert handler.lambda_handler({"Records": new_records(filters[function])}, CTX) == {
            "batchItemFailures": []
        }
    card = account_card(api)

    [today] = card["history"]["points"]  # the day's latest point replaced the earlier one
    assert today["people"] == 2
    assert today["score"] > point["score"]
    assert today["committee"] == card["committee"]
    changes = card["history"]["stage_changes"]
    assert [c["to_stage"] for c in changes][-1:] == ([card["stage"]] if card["stage"] != "account" else [])
    assert all(c["score"] > 0 for c in changes)


def test_the_history_shows_the_points_of_the_last_days_oldest_first(
    api: Any, jane: str, stack: Any, leads_table: str
) -> None:
    ledger = AccountLedger(stack.physical_name("AccountsTable"), leads_table)
    state = ledger.state("acme.com")
    assert state is not None
    now = datetime.now(UTC)
    for days_ago, value in ((200, 1.0), (30, 20.0), (2, 40.0)):
        at = now - timedelta(days=days_ago)
        point = ScorePoint(at, AccountStage.ACCOUNT, value, value, 0, 0, 0, 1)
        stored = ledger.load({"acme.com": []})[0]["acme.com"]
        ledger.save(stored, state, [], [], at, point)

    points = account_card(api)["history"]["points"]

    assert [p["score"] for p in points][:2] == [20.0, 40.0]  # 200 days ago is older than the card shows
    assert len(points) == 3


def test_the_card_lists_the_anonymous_visitors_apart(
    api: Any, jane: str, put_lead: Any, stack: Any, leads_table: str
) -> None:
    ledger = AccountLedger(stack.physical_name("AccountsTable"), leads_table)
    put_lead("Lvisitor", Stage.LEAD, known=False, behaviour=12.0)
    stored = ledger.load({"acme.com": ["Lvisitor"]})[0]["acme.com"]
    state = dataclasses.replace(stored.state, people=2, anonymous=1)
    ledger.save(stored, state, [MemberMark("Lvisitor", 1, True, anonymous=True)], [], datetime.now(UTC))

    card = account_card(api)

    assert [p["lead_id"] for p in card["people_known"]] == [jane]
    [visitor] = card["people_anonymous"]
    assert (visitor["lead_id"], visitor["stage"]) == ("Lvisitor", "lead")
    assert visitor["score"] == pytest.approx(12.0, abs=0.5)
