"""Score, Publish and NotifySales against moto, fed by the real table stream and filter criteria.

At-least-once delivery is the rule: every stage here is delivered twice and must change nothing.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from leadstream.platform.errors import NotifyFailed
from leadstream.scoring.lifecycle import Stage
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy
from leadstream.sources.repository import SourceRepository

from tests.builders import LambdaContext, bus_event, http_request, page_view, points, response_json
from tests.integration.conftest import lead_of, notifications

CTX = LambdaContext()
SITE = "https://www.acme-demo.test"


def visit_and_request_demo(
    track: Any,
    form: Any,
    anonymous_id: str = "anon-1",
    email: str = "jane@acme.com",
    title: str | None = None,
) -> None:
    for path in ("/", "/blog/speed-to-lead", "/pricing"):
        track.lambda_handler(http_request("/v1/page", page_view(anonymous_id, path)), CTX)
    fields = {"email": email, "name": "Jane Doe", "company": "Acme", "anonymousId": anonymous_id}
    if title:
        fields["title"] = title
    event = http_request(
        "/v1/forms/demo-request",
        fields,
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type="application/json",
    )
    assert form.lambda_handler(event, CTX)["statusCode"] == 200


# what visit_and_request_demo earns: a page, a blog post, pricing, the demo request, a work e-mail
DEMO_JOURNEY = ("page_view", "blog_post", "pricing_page", "demo_request")


def test_scoring_ignores_records_outside_its_filter(track, score, new_records, filters, scores):
    track.lambda_handler(http_request("/v1/page", page_view("anon-2", "/pricing")), CTX)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    # the STATE write it made is on the stream, but scoring's filter does not wake it up for it
    assert new_records(filters["ScoreFunction"]) == []
    assert [lead.lead_id for lead in scores.scores()] == [lead_of("anon-2")]
    assert scores.load(lead_of("anon-2")).score.events == 1


def test_a_replayed_stream_batch_leaves_the_score_unchanged(track, form, score, new_records, filters, scores):
    visit_and_request_demo(track, form)
    batch = {"Records": new_records(filters["ScoreFunction"])}

    first = score.lambda_handler(batch, CTX)
    after_first = scores.load(lead_of("anon-1"))
    again = score.lambda_handler(batch, CTX)

    assert first == again == {"batchItemFailures": []}
    assert scores.load(lead_of("anon-1")) == after_first  # not even rewritten: same version
    lead = after_first.score
    assert lead.stage is Stage.SQL
    assert lead.behaviour == pytest.approx(points(score.model, *DEMO_JOURNEY), abs=0.01)
    assert lead.events == len(batch["Records"])


def test_a_batch_split_differently_on_retry_applies_each_event_once(
    track, form, score, new_records, filters, scores
):
    visit_and_request_demo(track, form)
    records = new_records(filters["ScoreFunction"])

    score.lambda_handler({"Records": records[:2]}, CTX)
    score.lambda_handler({"Records": records}, CTX)  # a retry that starts before the checkpoint

    lead = scores.load(lead_of("anon-1")).score
    assert lead.behaviour == pytest.approx(points(score.model, *DEMO_JOURNEY), abs=0.01)
    assert lead.events == len(records)
    assert all(times == 1 for _points, times in lead.contributions.values())


def test_an_unreadable_record_is_reported_and_the_rest_are_scored(track, score, new_records, filters, scores):
    track.lambda_handler(http_request("/v1/page", page_view("anon-3", "/pricing")), CTX)
    good = new_records(filters["ScoreFunction"])[0]
    broken = json.loads(json.dumps(good))
    broken["dynamodb"]["SequenceNumber"] = "1"
    del broken["dynamodb"]["NewImage"]["type"]

    response = score.lambda_handler({"Records": [broken, good]}, CTX)

    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert [lead.lead_id for lead in scores.scores()] == [lead_of("anon-3")]
    assert scores.load(lead_of("anon-3")).score.events == 1


def test_a_new_sql_is_published_once_and_sales_notified_once(
    track,
    form,
    score,
    publish,
    notify,
    new_records,
    filters,
    scores,
    published,
    handed_over,
    notifications_file: Path,
):
    visit_and_request_demo(track, form)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    outbox = {"Records": new_records(filters["PublishFunction"])}
    assert len(outbox["Records"]) == 1

    assert publish.lambda_handler(outbox, CTX) == {"batchItemFailures": []}
    assert publish.lambda_handler(outbox, CTX) == {"batchItemFailures": []}  # stream redelivery

    [event] = published()
    lead = scores.load(lead_of("anon-1")).score
    [transition] = lead.transitions
    assert event["detail"]["transition_id"] == transition.id
    assert event["detail"]["to_stage"] == "SQL"
    card = event["detail"]["card"]
    assert card["email"] == "jane@acme.com"
    assert card["account"] == "acme.com"
    assert card["first_touch"]["channel"] == "direct"
    why = [(r.label, r.points) for r in transition.reasons]
    assert [(r["label"], r["points"]) for r in card["reasons"]] == why
    assert why[0] == ("Requested a demo", points(score.model, "demo_request"))  # the biggest reason first

    notify.lambda_handler(handed_over(event), CTX)
    notify.lambda_handler(handed_over(event), CTX)  # EventBridge redelivery
    notify.lambda_handler(handed_over({**event, "id": "another-delivery-id"}), CTX)  # a re-publish

    sent = notifications(notifications_file)
    assert len(sent) == 1
    total = points(score.model, *DEMO_JOURNEY, "work_email")
    assert sent[0]["subject"] == f"New SQL: Jane Doe at Acme (score {total:g})"
    assert f"Requested a demo ({points(score.model, 'demo_request'):+d})" in sent[0]["text"]
    assert "1 visit, 3 page views" in sent[0]["text"]


def test_a_free_mail_visitors_score_does_not_make_an_sql_only_its_demo_request_does(
    track, form, score, new_records, filters, scores
):
    visit_and_request_demo(track, form, email="jane@gmail.com")

    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    lead = scores.load(lead_of("anon-1")).score
    [transition] = lead.transitions
    sql = next(t.min_score for t in score.model.stages if t.stage is Stage.SQL)
    assert transition.score == points(score.model, *DEMO_JOURNEY, "free_email") < sql
    assert (lead.stage, transition.hand_raiser) == (Stage.SQL, True)  # a hand-raiser (issue 9), not by score
    assert len(new_records(filters["PublishFunction"])) == 1


def test_a_malformed_bus_event_fails_without_leaking_personal_data(notify):
    event = bus_event({"transition_id": "t", "card": {"email": "jane@acme.com"}})

    try:
        notify.lambda_handler(event, CTX)
    except Exception as exc:
        message = str(exc)
    else:
        raise AssertionError("a malformed event must fail so EventBridge retries and parks it")
    assert "lead_id" in message
    assert "jane@acme.com" not in message


def test_a_second_device_joins_the_known_lead_and_brings_its_history(
    track, score, new_records, filters, scores
):
    def identify(anonymous_id: str) -> None:
        body = {"anonymousId": anonymous_id, "traits": {"email": "jane@acme.com"}}
        assert track.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"] == 200

    # laptop: reads the blog, identifies
    track.lambda_handler(http_request("/v1/page", page_view("laptop", "/blog/a")), CTX)
    identify("laptop")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    # phone: looks at pricing anonymously, then identifies with the same e-mail
    track.lambda_handler(http_request("/v1/page", page_view("phone", "/pricing")), CTX)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    identify("phone")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    # later phone visits land on the known lead directly
    track.lambda_handler(http_request("/v1/page", page_view("phone", "/pricing")), CTX)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    laptop, phone = lead_of("laptop"), lead_of("phone")
    assert scores.load(phone).merged_into == laptop
    assert [lead.lead_id for lead in scores.scores()] == [laptop]  # one lead, as sales sees it
    known = scores.load(laptop).score
    pricing, blog = points(score.model, "pricing_page"), points(score.model, "blog_post")
    assert known.contributions["pricing_page"] == (2 * pricing, 2)  # both pricing views, on one lead
    assert known.contributions["blog_post"] == (blog, 1)


def test_a_retry_after_one_channel_failed_resends_only_to_that_channel(
    track, form, score, notify, aws, stack, notifications_file
):
    from tests.integration.test_sample_events import sample, the_samples_story

    the_samples_story(track, form, score)
    event = sample("notify_sales.json")
    topic_arn = stack.arn("SalesNotificationsTopic")
    aws["sns"].delete_topic(TopicArn=topic_arn)  # e-mail channel down

    with pytest.raises(NotifyFailed, match="sns"):
        notify.lambda_handler(event, CTX)
    assert len(notifications(notifications_file)) == 1  # the other channel already told sales

    aws["sns"].create_topic(Name=stack.physical_name("SalesNotificationsTopic"))
    queue = aws["sqs"].create_queue(QueueName="mailbox")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws["sns"].subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    notify.lambda_handler(event, CTX)  # Lambda's retry

    assert len(notifications(notifications_file)) == 1
    mails = aws["sqs"].receive_message(QueueUrl=queue).get("Messages", [])
    assert len(mails) == 1
    assert "Jane Doe" in json.loads(mails[0]["Body"])["Subject"]


def test_a_second_device_merged_within_one_batch_counts_everything_once(
    track, form, score, new_records, filters, scores
):
    def page(anonymous_id: str, path: str, message_id: str) -> None:
        body = page_view(anonymous_id, path, message_id=message_id)
        assert track.lambda_handler(http_request("/v1/page", body), CTX)["statusCode"] == 200

    def identify(anonymous_id: str) -> None:
        body = {"anonymousId": anonymous_id, "traits": {"email": "jane@acme.com"}}
        assert track.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"] == 200

    page("laptop", "/blog/a", "l-1")
    identify("laptop")
    page("phone", "/pricing", "p-1")
    identify("phone")  # the phone's lead is handed over to the laptop's known lead
    event = http_request(  # ...and a form from the phone at the same time
        "/v1/forms/demo-request",
        {"email": "jane@acme.com", "anonymousId": "phone"},
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type="application/json",
    )
    assert form.lambda_handler(event, CTX)["statusCode"] == 200
    page("phone", "/pricing", "p-1")  # the phone's SDK retries its page view after the merge
    batch = {"Records": new_records(filters["ScoreFunction"])}

    assert score.lambda_handler(batch, CTX) == {"batchItemFailures": []}
    assert score.lambda_handler(batch, CTX) == {"batchItemFailures": []}  # and the stream redelivers

    assert [lead.lead_id for lead in scores.scores()] == [lead_of("laptop")]
    known = scores.load(lead_of("laptop")).score
    assert known.contributions == {
        rule: (points(score.model, rule), 1) for rule in ("blog_post", "pricing_page", "demo_request")
    }
    assert known.stage is Stage.SQL


# --- history and odd clocks (third review) ----------------------------------------------------------------


def test_imported_history_never_takes_todays_points_or_its_first_touch_from_today(
    track, score, new_records, filters, scores, stack
):
    admin = SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))
    importer = admin.create("Old tool", (), Privacy(), datetime.now(UTC), allow_import=True)
    ad = "https://www.acme-demo.test/pricing?utm_source=google&utm_medium=cpc"
    history = [
        {
            **page_view("v", "/pricing", message_id=f"h-{day}"),
            "type": "page",
            "timestamp": f"2001-03-0{day}T10:00:00Z",
        }
        for day in (1, 2)
    ]
    history[0]["context"]["page"]["url"] = ad
    imported = track.lambda_handler(
        http_request("/v1/import", {"batch": history}, write_key=importer.write_key), CTX
    )
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    track.lambda_handler(http_request("/v1/page", page_view("v", "/pricing")), CTX)  # a real view, today
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    assert imported["statusCode"] == 200
    lead = scores.load(lead_of("v")).score
    pricing = points(score.model, "pricing_page")
    assert lead.score_at(score.model, datetime.now(UTC)) == pytest.approx(pricing, abs=0.01)  # not 0
    assert lead.contributions["pricing_page"] == (3 * pricing, 3)  # each earned in its own time
    assert lead.first_touch is not None
    assert lead.first_touch.source == "google"  # history's: first touch goes by the date of the event


def test_whatever_the_api_accepts_scoring_can_score(track, score, new_records, filters, scores):
    now = datetime.now(UTC)
    odd = [
        {"timestamp": (now + timedelta(days=3650)).isoformat()},  # a device clock years ahead
        {"timestamp": (now - timedelta(days=6)).isoformat(), "sentAt": (now - timedelta(days=6)).isoformat()},
        {"originalTimestamp": "1970-01-01T00:00:00Z", "sentAt": "1970-01-01T00:00:05Z"},  # a clock at zero
        {"timestamp": (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()},  # no zone
        {"timestamp": (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=-12))).isoformat()},
    ]
    batch = [{"type": "page", **page_view("v", "/pricing"), **times} for times in odd]

    response = track.lambda_handler(http_request("/v1/batch", {"batch": batch}), CTX)
    failures = score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    assert (response["statusCode"], response_json(response)["rejected"]) == (200, [])
    assert failures == {"batchItemFailures": []}
    assert scores.load(lead_of("v")).score.events == len(odd)
