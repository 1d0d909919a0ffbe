"""The sample events in events/ (for `sam local invoke -e` and `python -m local.invoke`) work as shown, and
tell one story: the API samples' visitor is the lead that the stream samples score and publish, and the
bus sample is what NotifySalesFunction is handed for the stage change they make, a reference to it
(`python -m local.samples` rewrites them from the API samples)."""

import base64
import gzip
import importlib
import json
from pathlib import Path
from typing import Any

from leadstream.accounts.repository import AccountLedger
from leadstream.scoring.lifecycle import Stage

from local.environment import REGION
from local.events import target_input
from local.runner import SAMPLE_ORIGIN, STACK
from local.samples import SHADOW_SAMPLE_MODEL
from local.template import load_stack
from tests.builders import LambdaContext
from tests.integration.conftest import notifications

EVENTS = Path(__file__).resolve().parents[2] / "events"
CTX = LambdaContext()
API_SAMPLES = (
    "track_page.json",
    "track_batch.json",
    "track_identify.json",
    "form_json.json",
    "form_urlencoded.json",
)
REGENERATE = "out of date: rewrite the stream and bus samples with `.venv/bin/python -m local.samples`"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def every_function() -> Any:
    """The template's stack with every optional function on (ShadowFunction: a candidate in shadow)."""
    parameters = {"StageName": "test", "ShadowScoringModel": SHADOW_SAMPLE_MODEL}
    return load_stack(STACK, REGION, parameters, {})


def test_every_function_in_the_template_has_a_sample_event():
    stack = every_function()
    prefixes = {
        "TrackFunction": "track_",
        "EmailLinksFunction": "email_links_",
        "FormFunction": "form_",
        "ScoreFunction": "score_",
        "PublishFunction": "publish_",
        "NotifySalesFunction": "notify_sales",
        "ExpireFunction": "expire_",
        "AccountFunction": "account_",
        "ApiFunction": "api_",
        "SlaFunction": "sla_",
        "SlackFunction": "slack_",
        "WebFunction": "web_",
        "ArchiveFunction": "archive_",
        "ShadowFunction": "shadow_",
    }
    names = [p.name for p in EVENTS.glob("*.json")]
    assert set(stack.functions) == set(prefixes)
    for function, prefix in prefixes.items():
        assert any(n.startswith(prefix) for n in names), f"no sample event for {function} in events/"


def test_the_browser_samples_come_from_an_origin_make_run_allows_on_any_port():
    """make run's demo source allows SAMPLE_ORIGIN whatever its --port: the samples work against any."""
    for name in API_SAMPLES:
        headers = sample(name)["headers"]
        assert headers["origin"] == SAMPLE_ORIGIN, name
        if "referer" in headers:
            assert headers["referer"].startswith(f"{SAMPLE_ORIGIN}/"), name


def test_the_api_samples_are_accepted(track, form):
    for name in ("track_page.json", "track_identify.json", "track_batch.json"):
        response = track.lambda_handler(sample(name), CTX)
        assert response["statusCode"] == 200, (name, response["body"])
    assert form.lambda_handler(sample("form_json.json"), CTX)["statusCode"] == 200
    redirect = form.lambda_handler(sample("form_urlencoded.json"), CTX)
    assert redirect["statusCode"] == 303
    assert redirect["headers"]["Location"] == f"{SAMPLE_ORIGIN}/thanks"


def test_the_pixel_sample_answers_an_image_and_records_nothing_unsigned(email_links, items):
    response = email_links.lambda_handler(sample("email_links_open.json"), CTX)

    assert (response["statusCode"], response["headers"]["Content-Type"]) == (200, "image/gif")
    assert items() == []  # its signature is a placeholder: sign real links with `python -m cli links sign`


def test_the_scoring_sample_is_what_the_api_samples_store(track, form, new_records):
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        assert track.lambda_handler(sample(name), CTX)["statusCode"] == 200
    assert form.lambda_handler(sample("form_urlencoded.json"), CTX)["statusCode"] == 303

    def stored(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in records]

    assert stored(new_records("ScoreFunction")) == stored(sample("score_stream.json")["Records"]), REGENERATE


def test_the_shadow_sample_is_what_the_api_samples_store_and_merge(track, form, new_records):
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        assert track.lambda_handler(sample(name), CTX)["statusCode"] == 200
    assert form.lambda_handler(sample("form_urlencoded.json"), CTX)["statusCode"] == 303
    subscription = next(s for s in every_function().streams if s.function == "ShadowFunction")

    def stored(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        keys = [(r["eventName"], r["dynamodb"]["Keys"]) for r in records]
        return [(name, k["pk"]["S"], k["sk"]["S"]) for name, k in keys]

    shadowed = [r for r in new_records() if subscription.matches(r)]
    assert stored(shadowed) == stored(sample("shadow_stream.json")["Records"]), REGENERATE


def test_the_stream_samples_score_and_publish_one_stage_change(score, publish, scores, published, stack):
    outbox = sample("publish_stream.json")
    changes = [scores.transition_from_image(r["dynamodb"]["NewImage"]) for r in outbox["Records"]]
    change = changes[-1][0]

    assert score.lambda_handler(sample("score_stream.json"), CTX) == {"batchItemFailures": []}
    scored = scores.load(change.lead_id).score
    assert scored.stage is Stage.SQL
    assert scored.transitions[-1].to_stage is Stage.SQL
    # scoring the scoring sample records the stage changes that the publishing sample carries
    assert [t.id for t in scores.load(change.lead_id).score.transitions] == [t.id for _, t in changes], (
        REGENERATE
    )

    assert publish.lambda_handler(outbox, CTX) == {"batchItemFailures": []}
    [event] = published()  # the rule lets the SQL through, not the MQL before it
    assert (event["source"], event["detail-type"]) == ("leadstream", "Lead Stage Changed")
    assert (event["detail"]["lead_id"], event["detail"]["to_stage"]) == (change.lead_id, "SQL")
    # and the bus sample is what the rule hands NotifySalesFunction for that event: a reference to it
    rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")
    assert target_input(rule, event, REGION) == sample("notify_sales.json"), REGENERATE


def the_samples_story(track: Any, form: Any, score: Any) -> None:
    """What the API samples store (the contact's profile) and the scoring sample makes of it (its stage
    changes): what the bus sample refers to."""
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        assert track.lambda_handler(sample(name), CTX)["statusCode"] == 200
    assert form.lambda_handler(sample("form_urlencoded.json"), CTX)["statusCode"] == 303
    assert score.lambda_handler(sample("score_stream.json"), CTX) == {"batchItemFailures": []}


def test_the_bus_sample_notifies_sales_with_the_card_it_refers_to(
    track, form, score, notify, notifications_file
):
    reference = sample("notify_sales.json")
    assert "card" not in reference  # nothing personal in it
    assert "@" not in json.dumps(reference)
    the_samples_story(track, form, score)

    notify.lambda_handler(reference, CTX)

    sent = notifications(notifications_file)
    assert len(sent) == 1
    assert sent[0]["subject"].startswith("New SQL: Jane Doe at Example Ltd")
    assert sent[0]["transition_id"] == reference["transition_id"]
    assert sent[0]["card"]["email"] == "jane.doe@example.com"


def test_replaying_the_bus_sample_notifies_once(track, form, score, notify, notifications_file):
    the_samples_story(track, form, score)
    notify.lambda_handler(sample("notify_sales.json"), CTX)
    notify.lambda_handler(sample("notify_sales.json"), CTX)

    assert len(notifications(notifications_file)) == 1


def test_the_expiry_sample_deletes_what_is_left_of_the_samples_lead(track, form, score, expire, items):
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        assert track.lambda_handler(sample(name), CTX)["statusCode"] == 200
    assert form.lambda_handler(sample("form_urlencoded.json"), CTX)["statusCode"] == 303
    assert score.lambda_handler(sample("score_stream.json"), CTX) == {"batchItemFailures": []}
    [record] = sample("expire_stream.json")["Records"]
    lead = record["dynamodb"]["Keys"]["pk"]["S"]
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert any(i["pk"]["S"] == lead and i["sk"]["S"] == "PROFILE" for i in items()), REGENERATE

    assert expire.lambda_handler(sample("expire_stream.json"), CTX) == {"batchItemFailures": []}

    left = [i for i in items() if i["pk"]["S"] == lead and i["sk"]["S"] != "STATE"]
    assert left == []  # its STATE the TTL deletes, which the sample stands for


def test_the_account_sample_rolls_the_samples_lead_up_into_its_account(track, form, score, account, stack):
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        assert track.lambda_handler(sample(name), CTX)["statusCode"] == 200
    assert form.lambda_handler(sample("form_urlencoded.json"), CTX)["statusCode"] == 303
    assert score.lambda_handler(sample("score_stream.json"), CTX) == {"batchItemFailures": []}
    assert account.lambda_handler(sample("account_stream.json"), CTX) == {"batchItemFailures": []}

    ledger = AccountLedger(stack.physical_name("AccountsTable"), stack.physical_name("LeadsTable"))
    state = ledger.state("example.com")
    assert state is not None
    assert state.people == 1


def test_the_bus_sample_for_a_lead_that_is_not_there_sends_nothing(notify, notifications_file):
    answer = notify.lambda_handler(sample("notify_sales.json"), CTX)

    assert answer["skipped"] == "lead erased; nothing to send"
    assert notifications(notifications_file) == []


def test_the_sales_api_sample_reads_the_card_of_the_samples_lead(track, form, score, api):
    """What API Gateway hands ApiFunction for a sales user's request, once the authorizer passed it."""
    the_samples_story(track, form, score)

    answer = api.lambda_handler(sample("api_lead_card.json"), CTX)

    assert answer["statusCode"] == 200, answer["body"]
    card = json.loads(answer["body"])
    assert card["lead_id"] == sample("api_lead_card.json")["pathParameters"]["lead_id"]
    assert (card["contact"]["email"], card["stage"]) == ("jane.doe@example.com", "SQL")


def test_the_web_app_sample_gets_a_module_of_the_app_gzipped() -> None:
    """What API Gateway hands WebFunction for one of the app's files (no authorizer: they hold no data)."""
    web = importlib.import_module("functions.web.app")

    answer = web.lambda_handler(sample("web_app_file.json"), CTX)

    assert (answer["statusCode"], answer["headers"]["Content-Encoding"]) == (200, "gzip")
    assert b"Leadstream" in gzip.decompress(base64.b64decode(answer["body"]))
