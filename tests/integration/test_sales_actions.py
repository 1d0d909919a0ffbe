"""The sales actions through ApiFunction in-process against moto (claims as the JWT authorizer passes them):
accept, reject, disqualify, progress, qualify, notes; roles, validation, idempotency, the audit trail and
the 'Lead Stage Changed' events a move publishes."""

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from leadstream.identity.repository import IdentityRepository
from leadstream.platform import aws as aws_clients
from leadstream.platform.errors import BadRequest, MoveNotAllowed
from leadstream.sales.actions import Actor, LeadActions
from leadstream.sales.leads import root_of
from leadstream.sales.records import SalesRecords
from leadstream.sales.workflow import Move, MoveRequest, Recycle
from leadstream.sales.workflow_file import load_workflow
from leadstream.scoring.lifecycle import Stage

from tests.builders import LambdaContext, http_request, points, response_json, signed_in
from tests.integration.conftest import bus_entries, lead_of
from tests.integration.test_scoring_flow import DEMO_JOURNEY, visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
REP = "rep@example.com"


def rep(*groups: str, email: str | None = REP) -> Any:
    """An ID token's claims: a user in `groups`, with their e-mail (each e-mail a user of its own)."""
    claims = {"email": email, "token_use": "id", "sub": f"sub-{email}"} if email else {}
    return signed_in(*(groups or ("sales",)), **claims)


def act(
    api: Any,
    lead_id: str,
    action: str,
    body: dict[str, Any] | str | None = None,
    user: Any = None,
    key: str | None = None,
) -> dict[str, Any]:
    request = http_request(
        f"/api/leads/{lead_id}/{action}",
        body,
        route=f"/api/leads/{{lead_id}}/{action}",
        path_params={"lead_id": lead_id},
        write_key=None,
        headers={"idempotency-key": key} if key else None,
        user=user if user is not None else rep(),
    )
    answer: dict[str, Any] = api.lambda_handler(request, CTX)
    return answer


def card(api: Any, lead_id: str) -> dict[str, Any]:
    request = http_request(
        f"/api/leads/{lead_id}",
        route="/api/leads/{lead_id}",
        path_params={"lead_id": lead_id},
        method="GET",
        write_key=None,
        user=rep(),
    )
    answer = api.lambda_handler(request, CTX)
    assert answer["statusCode"] == 200, answer["body"]
    found: dict[str, Any] = response_json(answer)
    return found


@pytest.fixture
def records(aws: dict[str, Any], leads_table: str) -> SalesRecords:
    return SalesRecords(leads_table)


@pytest.fixture
def sql(track: Any, form: Any, score: Any, new_records: Any, filters: Any) -> str:
    """Jane's demo journey, scored: an SQL (the lead her card is under)."""
    visit_and_request_demo(track, form, title="VP Marketing")
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    lead = lead_of("anon-1")
    new_records()  # what happened so far is not the actions'
    return lead


def stages(api: Any, lead_id: str) -> list[tuple[str, str, str]]:
    return [(c["from_stage"], c["to_stage"], c["by"]) for c in card(api, lead_id)["stage_history"]]


def test_accepting_an_sql_moves_it_records_who_and_audits_it(
    api: Any, sql: str, records: SalesRecords
) -> None:
    answer = act(api, sql, "accept")

    assert answer["statusCode"] == 200, answer["body"]
    moved = response_json(answer)
    assert (moved["stage"], moved["transition"]["by"]) == ("accepted", REP)
    assert moved["transition"]["transition_id"] == f"{sql}:accepted:2"
    assert card(api, sql)["stage"] == "accepted"
    assert stages(api, sql) == [("lead", "SQL", "scoring"), ("SQL", "accepted", REP)]
    [audit] = records.audit(sql)
    assert (audit.action, audit.by, audit.outcome) == ("accept", REP, "SQL -> accepted")
    assert audit.request_id


def test_a_move_not_allowed_is_409_naming_the_stage_and_the_moves_allowed_and_stores_nothing(
    api: Any, sql: str, records: SalesRecords
) -> None:
    refused = act(api, sql, "progress", {"stage": "won", "amount": 1000, "currency": "EUR"})

    assert refused["statusCode"] == 409
    said = response_json(refused)
    assert said["current_stage"] == "SQL"
    assert said["allowed"] == ["accept", "reject", "disqualify"]
    assert "SQL" in said["error"]
    assert "won" in said["error"]
    assert stages(api, sql) == [("lead", "SQL", "scoring")]
    assert records.audit(sql) == []


def test_the_whole_way_to_won_with_bant_answers_and_the_amount_in_history_and_on_the_bus(
    api: Any, publish: Any, sql: str, new_records: Any, filters: Any
) -> None:
    assert act(api, sql, "accept")["statusCode"] == 200
    early = act(api, sql, "progress", {"stage": "opportunity"})
    assert early["statusCode"] == 409
    assert response_json(early)["missing"] == ["budget", "authority", "need"]

    answers = {"budget": "50k set aside for Q3", "authority": "she signs", "need": "reps call too late"}
    assert act(api, sql, "qualify", {"answers": answers})["statusCode"] == 200
    assert act(api, sql, "progress", {"stage": "opportunity"})["statusCode"] == 200
    won = act(api, sql, "progress", {"stage": "won", "amount": 48000, "currency": "EUR"})

    assert won["statusCode"] == 200, won["body"]
    last = card(api, sql)["stage_history"][-1]
    assert (last["to_stage"], last["amount"], last["currency"], last["by"]) == ("won", 48000, "EUR", REP)
    with bus_entries() as entries:
        assert publish.lambda_handler({"Records": new_records(filters["PublishFunction"])}, CTX) == {
            "batchItemFailures": []
        }
    changes = [json.loads(e["Detail"]) for e in entries if e["DetailType"] == "Lead Stage Changed"]
    assert [(c["from_stage"], c["to_stage"]) for c in changes] == [
        ("SQL", "accepted"),
        ("accepted", "opportunity"),
        ("opportunity", "won"),
    ]
    assert (changes[-1]["amount"], changes[-1]["currency"], changes[-1]["by"]) == (48000, "EUR", REP)


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        (["accept", "lost"], "accept"),
        (["reject", "accept", "reject"], "opportunity"),
        (["accept", "disqualify"], "reject"),
        (["disqualify"], "disqualify"),
    ],
)
def test_moves_allowed_in_turn_then_one_refused(
    api: Any, sql: str, moves: list[str], refused: str, records: SalesRecords
) -> None:
    bodies: dict[str, tuple[str, dict[str, Any] | None]] = {
        "accept": ("accept", None),
        "reject": ("reject", {"reason": "No budget"}),
        "disqualify": ("disqualify", {"reason": "A competitor"}),
        "lost": ("progress", {"stage": "lost", "reason": "went with a spreadsheet"}),
        "opportunity": ("progress", {"stage": "opportunity"}),
    }
    for move in moves:
        action, body = bodies[move]
        assert act(api, sql, action, body)["statusCode"] == 200, move
    action, body = bodies[refused]
    before = records.audit(sql)

    answer = act(api, sql, action, body)

    assert answer["statusCode"] == 409
    assert records.audit(sql) == before
    assert len(stages(api, sql)) == len(moves) + 1


def test_reject_recycles_the_lead_with_half_its_behaviour_and_a_new_demo_request_brings_it_back(
    api: Any, track: Any, form: Any, score: Any, sql: str, new_records: Any, filters: Any
) -> None:
    before = card(api, sql)["score"]

    rejected = act(api, sql, "reject", {"reason": "Bad timing"})

    assert rejected["statusCode"] == 200, rejected["body"]
    after = card(api, sql)
    assert after["stage"] == "rejected"
    assert after["stage_history"][-1]["reason"] == "Bad timing"
    assert after["score"]["engagement"] == pytest.approx(before["engagement"] / 2, abs=0.1)
    assert after["score"]["fit"] == before["fit"]

    visit_and_request_demo(track, form, title="VP Marketing")  # weeks later: pricing again, the demo form
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }

    back = card(api, sql)
    assert back["stage"] == "SQL"
    assert [(c["to_stage"], c["by"]) for c in back["stage_history"]] == [
        ("SQL", "scoring"),
        ("rejected", REP),
        ("SQL", "scoring"),
    ]
    assert back["stage_history"][-1]["transition_id"] == f"{sql}:SQL:3"
    assert (
        back["score"]["engagement"] > after["score"]["engagement"] + points(score.model, "pricing_page") - 1
    )


def test_a_move_racing_scoring_decides_again_on_a_fresh_read_and_loses_neither_write(
    api: Any, scores: Any, sql: str, records: SalesRecords
) -> None:
    before = card(api, sql)["page_views"]
    raced: list[int] = []

    def scoring_first(**kwargs: Any) -> None:  # scoring writes STATE between the move's read and write
        if not raced:
            raced.append(1)
            stored = scores.load(sql)
            scores.save(stored, replace(stored.score, transitions=(), page_views=stored.score.page_views + 1))

    client = aws_clients.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.TransactWriteItems", scoring_first)
    try:
        answer = act(api, sql, "accept")
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", scoring_first)

    assert answer["statusCode"] == 200, answer["body"]
    after = card(api, sql)
    assert (after["stage"], after["page_views"]) == ("accepted", before + 1)
    assert [a.action for a in records.audit(sql)] == ["accept"]


def test_marketing_may_not_act_403_and_nothing_is_stored(api: Any, sql: str, records: SalesRecords) -> None:
    for action, body in [
        ("accept", None),
        ("reject", {"reason": "No budget"}),
        ("qualify", {"answers": {"budget": "yes"}}),
        ("notes", {"text": "called"}),
    ]:
        answer = act(api, sql, action, body, user=rep("marketing", email="marketing@example.com"))

        assert answer["statusCode"] == 403, action
        assert "sales" in response_json(answer)["error"]
    assert records.audit(sql) == []
    read = card(api, sql)
    assert (read["stage"], read["notes"], read["qualification"]["answered"]) == ("SQL", [], [])


def test_an_access_token_without_the_users_email_is_told_to_use_the_id_token(api: Any, sql: str) -> None:
    answer = act(api, sql, "accept", user=signed_in("sales"))

    assert answer["statusCode"] == 403
    assert "ID token" in response_json(answer)["error"]
    assert card(api, sql)["stage"] == "SQL"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("reject", {}, "reason"),
        ("reject", {"reason": "   "}, "reason"),
        ("disqualify", {"reason": "x" * 1001}, "reason"),
        ("progress", {"stage": "closed"}, "stage"),
        ("progress", {"stage": "won", "amount": -5, "currency": "EUR"}, "amount"),
        ("progress", {"stage": "won", "amount": 10, "currency": "euro"}, "currency"),
        ("qualify", {"answers": {}}, "answers"),
        ("qualify", {"answers": {"Budget!": "yes"}}, "answers.Budget!.[key]"),
        ("notes", {"text": ""}, "text"),
        ("notes", {"text": "hi", "html": "<b>"}, "html"),
        ("notes", "not json", "body"),
    ],
)
def test_a_bad_body_is_400_naming_the_field_and_stores_nothing(
    api: Any, sql: str, records: SalesRecords, action: str, body: Any, field: str
) -> None:
    answer = act(api, sql, action, body)

    assert answer["statusCode"] == 400, answer["body"]
    assert field in [d["field"] for d in response_json(answer)["details"]]
    assert records.audit(sql) == []
    assert records.notes(sql, 10) == []


def test_won_needs_an_amount_and_lost_a_reason_400_naming_them(api: Any, sql: str) -> None:
    assert act(api, sql, "accept")["statusCode"] == 200
    lost = act(api, sql, "progress", {"stage": "lost"})

    assert lost["statusCode"] == 400
    assert [d["field"] for d in response_json(lost)["details"]] == ["reason"]
    assert card(api, sql)["stage"] == "accepted"


def test_unknown_criteria_are_400_naming_them_and_nothing_is_merged(api: Any, sql: str) -> None:
    answer = act(api, sql, "qualify", {"answers": {"budget": "yes", "champion": "Bob", "metrics": "ROI"}})

    assert answer["statusCode"] == 400
    said = response_json(answer)
    assert "champion, metrics" in said["error"]
    assert [d["field"] for d in said["details"]] == ["answers.champion", "answers.metrics"]
    assert card(api, sql)["qualification"]["answered"] == []


def test_answers_merge_and_the_card_shows_who_answered_and_how_complete_it_is(api: Any, sql: str) -> None:
    assert act(api, sql, "qualify", {"answers": {"budget": "none yet"}})["statusCode"] == 200
    other = rep(email="lead@example.com")
    answer = act(api, sql, "qualify", {"answers": {"budget": "50k", "need": "speed"}}, user=other)

    assert answer["statusCode"] == 200, answer["body"]
    shown = card(api, sql)["qualification"]
    assert shown["framework"] == "BANT"
    assert shown["answered"] == ["budget", "need"]
    assert shown["missing_required"] == ["authority"]
    assert shown["completeness"] == 0.5
    budget = next(c for c in shown["criteria"] if c["id"] == "budget")
    assert (budget["answer"], budget["by"], budget["required"]) == ("50k", "lead@example.com", True)
    assert budget["question"]


def test_qualifying_publishes_lead_qualified_once_without_the_answers_text(
    api: Any, publish: Any, sql: str, new_records: Any, filters: Any
) -> None:
    answer = act(
        api, sql, "qualify", {"answers": {"need": "reps call a day late", "timeline": "this quarter"}}
    )
    assert answer["statusCode"] == 200
    outbox = new_records(filters["PublishFunction"])

    with bus_entries() as entries:
        assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}
        assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}  # redelivered

    [event] = [e for e in entries if e["DetailType"] == "Lead Qualified"]
    detail = json.loads(event["Detail"])
    assert (detail["lead_id"], detail["framework"], detail["by"]) == (sql, "BANT", REP)
    assert (detail["criteria"], detail["answered"]) == (["need", "timeline"], ["need", "timeline"])
    assert (detail["missing_required"], detail["completeness"]) == (["budget", "authority"], 0.5)
    assert "a day late" not in event["Detail"]


def test_notes_are_on_the_card_newest_first_as_typed(api: Any, sql: str, records: SalesRecords) -> None:
    for text in ("first call: voicemail", "<script>alert(1)</script> she asked for pricing"):
        assert act(api, sql, "notes", {"text": text})["statusCode"] == 200

    notes = card(api, sql)["notes"]

    assert [n["text"] for n in notes] == [
        "<script>alert(1)</script> she asked for pricing",
        "first call: voicemail",
    ]
    assert {n["by"] for n in notes} == {REP}
    assert [a.action for a in records.audit(sql)] == ["note", "note"]


def test_control_and_bidi_characters_are_dropped_from_what_people_type_and_nothing_else(
    api: Any, sql: str, records: SalesRecords
) -> None:
    assert act(api, sql, "notes", {"text": "call\nback \u202eTuesday\u0007 <b>"})["statusCode"] == 200
    only_controls = act(api, sql, "reject", {"reason": "\u202e\u0007"})

    assert [n.text for n in records.notes(sql, 10)] == ["call back Tuesday <b>"]
    assert only_controls["statusCode"] == 400
    assert [d["field"] for d in response_json(only_controls)["details"]] == ["reason"]


def test_the_same_idempotency_key_acts_once_and_answers_the_same(
    api: Any, sql: str, records: SalesRecords
) -> None:
    first = act(api, sql, "reject", {"reason": "No budget"}, key="retry-1")
    again = act(api, sql, "reject", {"reason": "No budget"}, key="retry-1")

    assert (first["statusCode"], again["statusCode"]) == (200, 200)
    assert response_json(again) == response_json(first)
    assert len(records.audit(sql)) == 1
    assert stages(api, sql) == [("lead", "SQL", "scoring"), ("SQL", "rejected", REP)]


def test_the_same_idempotency_key_with_another_body_is_422_and_does_nothing(
    api: Any, sql: str, records: SalesRecords
) -> None:
    assert act(api, sql, "notes", {"text": "one"}, key="k-7")["statusCode"] == 200

    reused = act(api, sql, "notes", {"text": "two"}, key="k-7")

    assert reused["statusCode"] == 422
    assert "Idempotency-Key" in response_json(reused)["error"]
    assert [n.text for n in records.notes(sql, 10)] == ["one"]


def test_keys_are_per_user_lead_and_action(api: Any, sql: str, records: SalesRecords) -> None:
    assert act(api, sql, "notes", {"text": "mine"}, key="same")["statusCode"] == 200
    assert (
        act(api, sql, "notes", {"text": "mine"}, key="same", user=rep(email="b@example.com"))["statusCode"]
        == 200
    )
    assert act(api, sql, "accept", key="same")["statusCode"] == 200

    assert len(records.notes(sql, 10)) == 2
    assert [a.action for a in records.audit(sql)] == ["note", "note", "accept"]


def test_an_unknown_lead_is_404_and_a_merged_one_308_to_the_same_action_on_its_root(
    api: Any, sql: str, records: SalesRecords
) -> None:
    [merged] = card(api, sql)["merged_leads"]

    unknown = act(api, "Lnobody", "accept")
    moved = act(api, merged, "accept")

    assert (unknown["statusCode"], response_json(unknown)["error"]) == (404, "no lead 'Lnobody'")
    assert moved["statusCode"] == 308
    assert moved["headers"]["Location"] == f"../{sql}/accept"
    assert records.audit(merged) == []
    assert records.audit(sql) == []


def test_the_active_framework_is_served_to_every_role(api: Any) -> None:
    request = http_request(
        "/api/qualification", route="/api/qualification", method="GET", write_key=None, user=rep("marketing")
    )

    answer = api.lambda_handler(request, CTX)

    assert answer["statusCode"] == 200
    served = response_json(answer)
    assert served["framework"] == "BANT"
    assert [(c["id"], c["required"]) for c in served["criteria"]] == [
        ("budget", True),
        ("authority", True),
        ("need", True),
        ("timeline", False),
    ]
    assert "No budget" in served["rejection_reasons"]


def test_acting_logs_no_personal_data(
    api: Any, sql: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert act(api, sql, "notes", {"text": "Jane's mobile is +44 7700 900123"})["statusCode"] == 200
        assert act(api, sql, "reject", {"reason": "Jane said no"}, key="k")["statusCode"] == 200
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text

    assert "lead action" in logged
    for personal in (REP, "7700 900123", "Jane said no", "jane@acme.com"):
        assert personal not in logged


# --- the use case, with another framework and the speed-to-lead hook ------------------------------------


def use_case(score: Any, leads_table: str, framework: str, hook: Any = None) -> LeadActions:
    workflow = load_workflow()
    identities = IdentityRepository(leads_table)
    return LeadActions(
        leads_table,
        score.model,
        workflow,
        workflow.framework(framework),
        lambda m: root_of(identities, m),
        hook,
    )


def test_meddic_refuses_opportunity_naming_a_missing_required_criterion_then_allows_it(
    score: Any, sql: str, leads_table: str
) -> None:
    meddic = use_case(score, leads_table, "MEDDIC")
    now = datetime.now(UTC)
    actor = Actor(REP, "req-1")
    meddic.move(sql, MoveRequest(Move.ACCEPT), actor, now)
    meddic.qualify(sql, {"metrics": "cut response time to 5 min", "economic_buyer": "the CFO"}, actor, now)
    meddic.qualify(sql, {"identify_pain": "leads go cold"}, actor, now)

    with pytest.raises(MoveNotAllowed) as refused:
        meddic.move(sql, MoveRequest(Move.OPPORTUNITY), actor, now)
    assert refused.value.missing == ["champion"]
    assert "champion" in str(refused.value)

    with pytest.raises(BadRequest):  # a BANT criterion is not MEDDIC's
        meddic.qualify(sql, {"budget": "yes"}, actor, now)
    meddic.qualify(sql, {"champion": "Priya, head of sales ops"}, actor, now)
    moved = meddic.move(sql, MoveRequest(Move.OPPORTUNITY), actor, now)

    assert (moved.from_stage, moved.to_stage) == (Stage.ACCEPTED, Stage.OPPORTUNITY)


def test_the_first_accept_meets_a_running_timer_and_calls_the_hook_once(
    score: Any, scores: Any, sql: str, leads_table: str
) -> None:
    stored = scores.load(sql)
    timer = {
        "transition_id": f"{sql}:SQL:1",
        "state": "running",
        "started_at": 1,
        "due_at": 301,
        "schedule": "s",
    }
    scores.save(replace(stored, sales={"sla": timer}), replace(stored.score, transitions=()))
    stopped: list[dict[str, Any]] = []
    actions = use_case(score, leads_table, "BANT", stopped.append)
    now = datetime.now(UTC)

    actions.move(sql, MoveRequest(Move.ACCEPT), Actor(REP), now)
    actions.move(sql, MoveRequest(Move.REJECT, reason="not now"), Actor("b@example.com"), now)

    sla = scores.load(sql).sales["sla"]
    assert (sla["state"], sla["acted_by"], sla["schedule"]) == ("met", REP, "s")
    assert float(sla["acted_at"]) == pytest.approx(now.timestamp(), abs=0.01)
    assert [t["state"] for t in stopped] == ["met"]


def test_a_breached_timer_only_records_who_acted(score: Any, scores: Any, sql: str, leads_table: str) -> None:
    stored = scores.load(sql)
    timer = {"state": "breached", "started_at": 1, "due_at": 301, "breached_at": 302, "schedule": "s"}
    scores.save(replace(stored, sales={"sla": timer}), replace(stored.score, transitions=()))
    stopped: list[dict[str, Any]] = []

    use_case(score, leads_table, "BANT", stopped.append).move(
        sql, MoveRequest(Move.REJECT, reason="no"), Actor(REP), datetime.now(UTC)
    )

    sla = scores.load(sql).sales["sla"]
    assert (sla["state"], sla["acted_by"]) == ("breached", REP)
    assert stopped == []


def test_the_recycle_policy_is_data(score: Any, scores: Any, sql: str, leads_table: str) -> None:
    workflow = load_workflow().model_copy(update={"recycle": Recycle.RESET})
    identities = IdentityRepository(leads_table)
    actions = LeadActions(
        leads_table, score.model, workflow, workflow.framework("BANT"), lambda m: root_of(identities, m)
    )

    actions.move(sql, MoveRequest(Move.REJECT, reason="no"), Actor(REP), datetime.now(UTC))

    reset = scores.load(sql).score
    assert (reset.stage, reset.behaviour, reset.weights) == (Stage.REJECTED, 0.0, {})
    assert reset.fit == points(score.model, "work_email", "senior_title")
    assert set(reset.contributions) == set(DEMO_JOURNEY)  # the ledger is history
