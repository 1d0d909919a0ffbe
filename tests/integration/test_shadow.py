"""Shadow mode against moto: ShadowFunction with the shipped example candidate (SQL at 60 where the live
model asks 75) beside Score, Publish and NotifySales, fed by the real table stream and filter criteria.

The issue's own test: shadow mode publishes nothing. The candidate records the SQL it would make; no bus
event, no stage change item, no notification, and nothing it writes wakes another function.
"""

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leadstream.scoring.lifecycle import Stage
from leadstream.shadow.keys import shadow_pk
from leadstream.shadow.repository import ShadowRepository
from leadstream.shadow.score import ShadowScore

from cli.__main__ import main
from local.template import Stack
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import (
    _handler,
    bus_entries,
    configured_stack,
    dynamodb_calls,
    lead_of,
    notifications,
)
from tests.integration.test_recovery import queued, redrive, storing
from tests.integration.test_sales_actions import act
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
CANDIDATE = "leadstream/scoring/candidates/sql_at_60.yaml"
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture(scope="module")
def stack(notifications_file: Path, moto_endpoint: str) -> Iterator[Stack]:
    """The template's stack with the candidate configured (ShadowScoringModel), so ShadowFunction, its
    subscription and its queue exist."""
    yield from configured_stack(notifications_file, moto_endpoint, ShadowScoringModel=CANDIDATE)


@pytest.fixture
def shadow(aws: dict[str, Any]) -> Any:
    return _handler("shadow")


@pytest.fixture
def shadows(aws: dict[str, Any], leads_table: str) -> ShadowRepository:
    return ShadowRepository(leads_table)


@pytest.fixture
def batch(stack: Stack) -> Any:
    """The records of `records` that a function's subscription (its template FilterCriteria) lets through,
    as the event it receives."""
    subscriptions = {s.function: s for s in stack.streams if s.table == "LeadsTable"}

    def of(function: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [r for r in records if subscriptions[function].matches(r)]}

    return of


def reads_a_newsletter(track: Any, form: Any, anonymous_id: str, email: str) -> None:
    """Pricing (25), a blog post (5), a newsletter form (15) with a work e-mail (10) and a senior title (10):
    65, an MQL for the live model (SQL at 75), an SQL for the candidate (60)."""
    for path in ("/pricing", "/blog/speed-to-lead"):
        assert (
            track.lambda_handler(http_request("/v1/page", page_view(anonymous_id, path)), CTX)["statusCode"]
            == 200
        )
    fields = {"email": email, "name": "Jane Doe", "title": "VP Marketing", "anonymousId": anonymous_id}
    request = http_request(
        "/v1/forms/newsletter", fields, route="/v1/forms/{form_id}", path_params={"form_id": "newsletter"}
    )
    assert form.lambda_handler(request, CTX)["statusCode"] == 200


def only(shadows: ShadowRepository, lead_id: str) -> ShadowScore:
    [found] = [s for s in shadows.recorded() if s.lead_id == lead_id]
    return found


def test_shadow_mode_publishes_nothing(
    track,
    form,
    score,
    publish,
    shadow,
    new_records,
    batch,
    stack,
    scores,
    shadows,
    published,
    notify,
    notifications_file,
):
    reads_a_newsletter(track, form, "anon-jane", "jane@acme.com")
    lead = lead_of("anon-jane")
    stored = new_records()
    assert score.lambda_handler(batch("ScoreFunction", stored), CTX) == {"batchItemFailures": []}
    assert publish.lambda_handler(batch("PublishFunction", new_records()), CTX) == {"batchItemFailures": []}
    assert [t.to_stage for t in scores.history(lead)] == [Stage.MQL]  # the live model: an MQL

    with bus_entries() as put:
        answer = shadow.lambda_handler(batch("ShadowFunction", stored), CTX)

    assert answer == {"batchItemFailures": []}
    recorded = only(shadows, lead)
    assert (recorded.model_version, recorded.stage) == (2, Stage.SQL)
    assert [(t.to_stage, t.model_version) for t in recorded.score.transitions] == [(Stage.SQL, 2)]
    # ... and nothing of it went anywhere: no bus event, no stage change, no notification
    assert put == []
    assert [t.to_stage for t in scores.history(lead)] == [Stage.MQL]
    assert scores.load(lead).score.stage is Stage.MQL
    assert published() == []  # the rule hands NotifySalesFunction nothing (`notify` started the file afresh)
    assert notifications(notifications_file) == []
    # what it wrote is on the stream, and no subscription of the leads table lets it through
    written = new_records()
    assert written
    woken = [s.function for s in stack.streams for r in written if s.table == "LeadsTable" and s.matches(r)]
    assert woken == []


def test_a_retried_batch_records_nothing_twice(track, form, score, shadow, new_records, batch, shadows):
    reads_a_newsletter(track, form, "anon-jane", "jane@acme.com")
    stored = batch("ShadowFunction", new_records())
    score.lambda_handler(batch("ScoreFunction", stored["Records"]), CTX)
    assert shadow.lambda_handler(stored, CTX) == {"batchItemFailures": []}
    first = only(shadows, lead_of("anon-jane"))

    with dynamodb_calls() as calls:
        again = shadow.lambda_handler(stored, CTX)

    assert again == {"batchItemFailures": []}
    assert calls.get("TransactWriteItems", 0) == 0  # the same events: the same record, not written again
    assert only(shadows, lead_of("anon-jane")) == first
    # a later visit rescores the person; the SQL it would have made is still recorded once
    track.lambda_handler(http_request("/v1/page", page_view("anon-jane", "/pricing/enterprise")), CTX)
    assert shadow.lambda_handler(batch("ShadowFunction", new_records()), CTX) == {"batchItemFailures": []}
    later = only(shadows, lead_of("anon-jane"))
    assert later.score.events == first.score.events + 1
    assert [t.to_stage for t in later.score.transitions] == [Stage.SQL]


def test_an_anonymous_device_merged_into_the_person_is_scored_with_them_and_keeps_no_record(
    track, score, shadow, new_records, batch, shadows, scores
):
    identify = {"anonymousId": "anon-laptop", "traits": {"email": "jane@acme.com", "title": "VP Marketing"}}
    track.lambda_handler(http_request("/v1/page", page_view("anon-laptop", "/")), CTX)
    track.lambda_handler(http_request("/v1/identify", identify), CTX)  # the laptop: known, 22
    for path in ("/pricing", "/pricing/enterprise"):  # the phone: 50 points, anonymous
        track.lambda_handler(http_request("/v1/page", page_view("anon-phone", path)), CTX)
    records = new_records()
    score.lambda_handler(batch("ScoreFunction", records), CTX)
    shadow.lambda_handler(batch("ShadowFunction", records), CTX)
    assert only(shadows, lead_of("anon-phone")).stage is Stage.MQL  # the candidate's MQL, not yet known
    identify = {**identify, "anonymousId": "anon-phone"}
    assert track.lambda_handler(http_request("/v1/identify", identify), CTX)["statusCode"] == 200
    records = new_records()
    score.lambda_handler(batch("ScoreFunction", records), CTX)

    assert shadow.lambda_handler(batch("ShadowFunction", records), CTX) == {"batchItemFailures": []}

    [person] = list(shadows.recorded())  # one record, the person's: the phone's went with the merge
    assert person.lead_id == lead_of("anon-laptop")
    assert scores.load(lead_of("anon-phone")).merged_into == person.lead_id
    assert person.score.events == 5  # both devices' events
    assert person.stage is Stage.SQL  # 22 + 50: the candidate's SQL ...
    assert scores.load(person.lead_id).score.stage is Stage.MQL  # ... where the live model has an MQL


def test_people_export_shows_the_shadow_record_and_erase_takes_it(
    track, form, score, shadow, new_records, batch, shadows, moto_endpoint, capsys
):
    reads_a_newsletter(track, form, "anon-jane", "jane@acme.com")
    stored = batch("ShadowFunction", new_records())
    score.lambda_handler(batch("ScoreFunction", stored["Records"]), CTX)
    shadow.lambda_handler(stored, CTX)
    capsys.readouterr()

    assert main(["--endpoint", moto_endpoint, "people", "export", "jane@acme.com"]) == 0
    exported = json.loads(capsys.readouterr().out)
    [record] = exported["items"]["shadow_scores"]
    assert (record["lead_id"], record["stage"], record["model"]) == (lead_of("anon-jane"), "SQL", 2)

    assert main(["--endpoint", moto_endpoint, "people", "erase", "jane@acme.com", "--yes"]) == 0
    assert list(shadows.recorded()) == []
    # a batch still on its way after the erase does not write the person back
    assert shadow.lambda_handler(stored, CTX) == {"batchItemFailures": []}
    assert list(shadows.recorded()) == []


def report(capsys: Any, moto_endpoint: str, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--endpoint", moto_endpoint, "model", "shadow-report", *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_the_shadow_report_compares_the_two_models_and_says_what_became_of_the_added_sql(
    track, form, score, shadow, api, new_records, batch, moto_endpoint, capsys
):
    reads_a_newsletter(track, form, "anon-jane", "jane@acme.com")  # live MQL, candidate SQL
    visit_and_request_demo(track, form, "anon-bob", "bob@globex.com")  # a demo request: SQL for both
    track.lambda_handler(http_request("/v1/page", page_view("anon-carl", "/blog/a")), CTX)  # lead, both
    records = new_records()
    score.lambda_handler(batch("ScoreFunction", records), CTX)
    shadow.lambda_handler(batch("ShadowFunction", records), CTX)
    jane = lead_of("anon-jane")
    assert act(api, jane, "accept")["statusCode"] == 200  # sales took the live MQL anyway

    code, out = report(capsys, moto_endpoint, "--json")

    assert code == 0, out
    data = json.loads(out)
    assert (data["candidate_version"], data["live_versions"]) == (2, [1])
    assert (data["people"], data["agree"]) == (3, 2)
    assert data["disagreements"] == [{"lead_id": jane, "live": "MQL", "candidate": "SQL"}]
    assert data["stages"]["SQL"] == {"live": 1, "candidate": 2}
    added, both, dropped = data["sqls"]["added"], data["sqls"]["both"], data["sqls"]["dropped"]
    assert (added["people"], added["leads"], added["accepted"]) == (1, [jane], 1)
    assert (both["people"], both["waiting"]) == (1, 1)
    assert dropped["people"] == 0

    code, table = report(capsys, moto_endpoint)
    assert code == 0
    assert "candidate model v2 beside the live model v1, 3 people scored" in table
    assert "Agreement (the same stage): 2 of 3 (67%)" in table
    assert any(line.startswith("added (candidate only)  1") for line in table.splitlines()), table


def test_the_shadow_report_without_records_says_how_to_get_some(aws, moto_endpoint, capsys):
    code, out = report(capsys, moto_endpoint)

    assert code == 1
    assert "ShadowScoringModel" in out


def test_the_shadow_function_may_not_publish_or_notify(stack):
    """Its policy (the template's): no EventBridge, SNS or Lambda invoke; its writes only under SHADOW#."""
    policies = json.dumps(stack.resources["ShadowFunction"]["Properties"]["Policies"])
    for service in ("events:", "sns:", "EventBridge", "SNS", "lambda:", "scheduler:"):
        assert service not in policies, service


def test_a_range_shadow_mode_gave_up_on_is_scored_again_by_a_redrive(
    track, form, score, shadow, new_records, batch, shadows, scores, aws
):
    with storing() as stored:
        reads_a_newsletter(track, form, "anon-jane", "jane@acme.com")
    score.lambda_handler(batch("ScoreFunction", new_records()), CTX)
    parked = {  # what Lambda's on-failure destination writes: where the records were and when they arrived
        "requestContext": {"functionArn": "ShadowFunction", "condition": "RetryAttemptsExhausted"},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "800000000003126276362",
            "endSequenceNumber": "800000000003126276399",
            "approximateArrivalOfFirstRecord": f"{stored.first:%Y-%m-%dT%H:%M:%S}Z",
            "approximateArrivalOfLastRecord": f"{stored.last:%Y-%m-%dT%H:%M:%S}Z",
            "batchSize": 3,
        },
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"]["ShadowFailuresQueue"], MessageBody=json.dumps(parked))
    out = io.StringIO()

    assert redrive(aws, scores, "ShadowFailuresQueue", ShadowFunction=shadow).run(out) == 0

    assert only(shadows, lead_of("anon-jane")).stage is Stage.SQL, out.getvalue()
    assert queued(aws, "ShadowFailuresQueue") == 0
    # a second redrive of nothing changes nothing
    assert redrive(aws, scores, "ShadowFailuresQueue", ShadowFunction=shadow).run(io.StringIO()) == 0
    assert [t.to_stage for t in only(shadows, lead_of("anon-jane")).score.transitions] == [Stage.SQL]


def test_a_record_written_before_live_scoring_gave_the_lead_an_expiry_expires_too(
    track, shadow, new_records, batch, aws, leads_table, stack
):
    """The stream's consumers run side by side: the candidate may score a new visitor before ScoreFunction
    wrote their STATE (and its expiry). The record then expires the stack's lead retention after the
    visit, not never."""
    before = time.time()
    track.lambda_handler(http_request("/v1/page", page_view("anon-new", "/pricing")), CTX)

    assert shadow.lambda_handler(batch("ShadowFunction", new_records()), CTX) == {"batchItemFailures": []}

    lead = lead_of("anon-new")
    [item] = aws["dynamodb"].query(
        TableName=leads_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": shadow_pk(lead)}},
    )["Items"]
    retention = int(stack.parameters["LeadRetentionDays"]) * 86400
    assert before + retention - 60 <= float(item["expires_at"]["N"]) <= time.time() + retention + 60
