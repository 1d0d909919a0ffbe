"""What people do to a lead is stored with it: a stage change records who, why and the deal's amount, and
the sales workflow's fields on STATE (owner, the speed-to-lead timer) survive every later scoring write."""

import json
from dataclasses import replace
from typing import Any

from leadstream.platform.dynamo import transact
from leadstream.sales.outbox import LeadEvents
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.outbox import Outbox
from leadstream.scoring.score import Transition
from pydantic import BaseModel

from tests.builders import LambdaContext
from tests.integration.conftest import bus_entries, lead_of
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()


def test_a_stage_change_by_a_person_keeps_who_why_and_amount_and_scoring_keeps_the_owner(
    track, form, score, new_records, filters, scores, profiles
):
    visit_and_request_demo(track, form, anonymous_id="ann", email="ann@acme.com")
    assert (
        score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)["batchItemFailures"]
        == []
    )
    lead = lead_of("ann")
    stored = scores.load(lead)
    assert stored.score.stage is Stage.SQL
    [sql] = scores.history(lead)
    assert sql.by is None
    assert sql.model_version is not None

    won = Transition(
        f"{lead}:won:{stored.score.transition_count + 1}",
        Stage.SQL,
        Stage.WON,
        sql.at,
        sql.score,
        by="rep@example.com",
        reason="signed the annual plan",
        amount=12000.0,
        currency="EUR",
    )
    moved = replace(
        stored.score, stage=Stage.WON, transition_count=stored.score.transition_count + 1, transitions=(won,)
    )
    sla: dict[str, Any] = {"state": "met", "transition_id": sql.id}
    scores.save(replace(stored, sales={"owner": "rep@example.com", "owner_at": 1.5, "sla": sla}), moved)

    assert scores.history(lead)[-1] == won
    image = new_records(filters["PublishFunction"])[-1]["dynamodb"]["NewImage"]
    [change] = Outbox(scores, profiles).changes(image)
    assert (change.to_stage, change.by, change.reason, change.amount, change.currency) == (
        "won",
        "rep@example.com",
        "signed the annual plan",
        12000.0,
        "EUR",
    )

    # the lead comes back to the site: scoring writes STATE again, and the owner and timer stay
    visit_and_request_demo(track, form, anonymous_id="ann", email="ann@acme.com")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    after = scores.load(lead)
    assert after.version is not None
    assert stored.version is not None
    assert after.version > stored.version + 1
    assert after.score.stage is Stage.WON  # scoring never moves a lead back from a stage people set
    assert after.sales == {"owner": "rep@example.com", "owner_at": 1.5, "sla": sla}


class _Noted(BaseModel):
    event_id: str
    lead_id: str
    note: str


def test_a_lead_event_written_to_the_outbox_goes_on_the_bus_once_and_leaves_the_unpublished_index(
    aws, leads_table, publish, new_records, filters, scores
):
    events = LeadEvents(leads_table)
    detail = _Noted(event_id="L1:noted:1", lead_id="L1", note="<b>called</b>")
    assert transact([events.put("L1", "Lead Noted", detail)], "writing a lead event")
    assert not transact([events.put("L1", "Lead Noted", detail)], "writing it again")  # one item per event
    assert [raw["sk"]["S"] for raw in scores.unpublished_items()] == ["OUT#L1:noted:1"]

    records = new_records(filters["PublishFunction"])
    with bus_entries() as entries:
        assert publish.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}
        assert publish.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}  # redelivered

    assert [(e["DetailType"], json.loads(e["Detail"]), e["Resources"]) for e in entries] == [
        ("Lead Noted", detail.model_dump(), ["L1"])
    ]
    assert list(scores.unpublished_items()) == []
