"""What people do to a lead is stored with it: a stage change records who, why and the deal's amount, and
the sales workflow's fields on STATE (owner, the speed-to-lead timer) survive every later scoring write."""

from dataclasses import replace
from typing import Any

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.outbox import Outbox
from leadstream.scoring.score import Transition

from tests.builders import LambdaContext
from tests.integration.conftest import lead_of
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
