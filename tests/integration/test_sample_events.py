"""The sample events in events/ (for `sam local invoke -e` and `python -m local.invoke`) work as shown."""

import json
from pathlib import Path
from typing import Any

from leadstream.scoring.lifecycle import Stage

from tests.builders import LambdaContext
from tests.integration.conftest import notifications

EVENTS = Path(__file__).resolve().parents[2] / "events"
CTX = LambdaContext()


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_every_function_in_the_template_has_a_sample_event(stack):
    prefixes = {
        "TrackFunction": "track_",
        "EmailLinksFunction": "email_links_",
        "FormFunction": "form_",
        "ScoreFunction": "score_",
        "PublishFunction": "publish_",
        "NotifySalesFunction": "notify_sales",
    }
    names = [p.name for p in EVENTS.glob("*.json")]
    assert set(stack.functions) == set(prefixes)
    for function, prefix in prefixes.items():
        assert any(n.startswith(prefix) for n in names), f"no sample event for {function} in events/"


def test_the_api_samples_are_accepted(track, form):
    for name in ("track_page.json", "track_identify.json", "track_batch.json"):
        response = track.lambda_handler(sample(name), CTX)
        assert response["statusCode"] == 200, (name, response["body"])
    assert form.lambda_handler(sample("form_json.json"), CTX)["statusCode"] == 200
    redirect = form.lambda_handler(sample("form_urlencoded.json"), CTX)
    assert redirect["statusCode"] == 303
    assert redirect["headers"]["Location"] == "http://localhost:3000/thanks"


def test_the_pixel_sample_answers_an_image_and_records_nothing_unsigned(email_links, items):
    response = email_links.lambda_handler(sample("email_links_open.json"), CTX)

    assert (response["statusCode"], response["headers"]["Content-Type"]) == (200, "image/gif")
    assert items() == []  # its signature is a placeholder: sign real links with `python -m cli links sign`


def test_the_stream_samples_score_and_publish(score, publish, scores, published):
    outbox = sample("publish_stream.json")
    [change] = [scores.from_image(r["dynamodb"]["NewImage"]) for r in outbox["Records"]]
    [transition] = change.transitions

    assert score.lambda_handler(sample("score_stream.json"), CTX) == {"batchItemFailures": []}
    scored = scores.load(change.lead_id).score
    assert scored.stage is Stage.SQL
    assert scored.transitions[-1].to_stage is Stage.SQL

    assert publish.lambda_handler(outbox, CTX) == {"batchItemFailures": []}
    [event] = published()
    assert (event["source"], event["detail-type"]) == ("leadstream", "Lead Stage Changed")
    assert event["detail"]["transition_id"] == transition.id
    assert (event["detail"]["lead_id"], event["detail"]["to_stage"]) == (change.lead_id, "SQL")


def test_the_bus_sample_notifies_sales(notify, notifications_file):
    notify.lambda_handler(sample("notify_sales.json"), CTX)

    sent = notifications(notifications_file)
    assert len(sent) == 1
    assert sent[0]["subject"].startswith("New SQL: Jane Doe at Example Ltd")
