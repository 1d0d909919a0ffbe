"""Hand-raisers and PQLs from the tracking API to the sales notification, against moto: Score, Publish and
NotifySales as the template wires them (the notification rule's pattern included), on the shipped model."""

from pathlib import Path
from typing import Any

from leadstream.scoring.lifecycle import Stage

from tests.builders import LambdaContext, http_request, points
from tests.integration.conftest import lead_of, notifications
from tests.integration.test_scoring_flow import DEMO_JOURNEY, visit_and_request_demo

CTX = LambdaContext()


def threshold(model: Any, stage: Stage) -> float:
    return float(next(t.min_score for t in model.stages if t.stage is stage))


def send(track: Any, path: str, body: dict[str, Any]) -> None:
    assert track.lambda_handler(http_request(path, body), CTX)["statusCode"] == 200


def told_sales(
    score: Any, publish: Any, notify: Any, new_records: Any, filters: Any, published: Any, handed_over: Any
) -> list[dict[str, Any]]:
    """Score what was tracked, publish the stage changes, and hand NotifySales what the template's rule
    matched (twice: a redelivery); the events the rule matched."""
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    outbox = {"Records": new_records(filters["PublishFunction"])}
    if outbox["Records"]:
        assert publish.lambda_handler(outbox, CTX) == {"batchItemFailures": []}
    events = published()
    for event in events:
        notify.lambda_handler(handed_over(event), CTX)
        notify.lambda_handler(handed_over(event), CTX)
    return events


def test_a_free_mail_founder_requesting_a_demo_reaches_sales_as_a_hand_raiser_with_its_fit_shown(
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
    visit_and_request_demo(track, form, email="jane@gmail.com", title="Founder")

    [event] = told_sales(score, publish, notify, new_records, filters, published, handed_over)

    model = score.model
    total = points(model, *DEMO_JOURNEY, "free_email", "senior_title")
    assert total < threshold(model, Stage.SQL)  # its score alone would not have reached sales
    detail = event["detail"]
    assert (detail["to_stage"], detail["hand_raiser"], detail["card"]["fit"]) == (
        "SQL",
        True,
        points(model, "free_email", "senior_title"),
    )
    assert detail["card"]["engagement"] == points(model, *DEMO_JOURNEY)
    [sent] = notifications(notifications_file)
    assert sent["subject"] == f"New SQL (hand-raiser): Jane Doe at Acme (score {total:g})"
    lines = sent["text"].splitlines()
    assert lines[0].startswith("Owner: ")  # who works it comes first (the assignment rules')
    assert lines[1] == "Hand-raiser: Requested a demo (sent to sales whatever its score)"
    free, senior = points(model, "free_email"), points(model, "senior_title")
    engagement = points(model, *DEMO_JOURNEY)
    fit = f"Free e-mail address {free:+d}, Senior job title {senior:+d}"
    assert f"Score {total:g} = engagement {engagement:g} + fit {free + senior:+d} ({fit})" in lines
    assert scores.load(lead_of("anon-1")).score.stage is Stage.SQL


def test_an_anonymous_contact_sales_click_reaches_sales_when_the_visitor_identifies_later(
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
    send(track, "/v1/track", {"anonymousId": "anon-7", "event": "Contact Sales"})
    assert told_sales(score, publish, notify, new_records, filters, published, handed_over) == []
    assert scores.load(lead_of("anon-7")).score.stage is Stage.LEAD

    send(track, "/v1/identify", {"anonymousId": "anon-7", "traits": {"email": "sam@gmail.com"}})
    [event] = told_sales(score, publish, notify, new_records, filters, published, handed_over)

    assert (event["detail"]["to_stage"], event["detail"]["hand_raiser"]) == ("SQL", True)
    [sent] = notifications(notifications_file)
    assert sent["subject"].startswith("New SQL (hand-raiser): ")
    assert "Hand-raiser: Asked to talk to sales (sent to sales whatever its score)" in sent["text"]


def test_five_projects_within_two_weeks_make_a_pql_that_sales_is_told_of(
    track,
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
    send(track, "/v1/identify", {"userId": "u-7", "traits": {"email": "pat@acme.com", "name": "Pat Lee"}})
    for n in range(4):  # each in a batch of its own: the usage is counted on STATE between them
        send(track, "/v1/track", {"userId": "u-7", "event": "Project Created", "properties": {"n": n}})
        assert told_sales(score, publish, notify, new_records, filters, published, handed_over) == []

    send(track, "/v1/track", {"userId": "u-7", "event": "Project Created"})
    [event] = told_sales(score, publish, notify, new_records, filters, published, handed_over)

    detail = event["detail"]
    assert (detail["from_stage"], detail["to_stage"], detail["hand_raiser"]) == ("lead", "PQL", False)
    assert detail["card"]["reasons"][0] == {"label": "Created 5 projects within 14 days", "points": 0}
    assert scores.load(detail["lead_id"]).score.stage is Stage.PQL
    [sent] = notifications(notifications_file)
    assert sent["subject"].startswith("New PQL: Pat Lee")
    assert sent["text"].splitlines()[0].startswith("Owner: ")
    assert sent["text"].splitlines()[1] == "Product usage: Created 5 projects within 14 days"
