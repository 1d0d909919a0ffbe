"""ApiFunction in-process against moto, with API Gateway-shaped events carrying what the JWT authorizer
passes (tests.builders.signed_in): the LeadCard of a scored lead, roles, merged and unknown leads, and the
OpenAPI document generated from the response models."""

import base64
import gzip
import json
import logging
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.builders import LambdaContext, http_request, points, response_json, signed_in
from tests.integration.conftest import lead_of
from tests.integration.test_scoring_flow import DEMO_JOURNEY, visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def card_request(lead_id: str, user: Any = None) -> dict[str, Any]:
    return http_request(
        f"/api/leads/{lead_id}",
        route="/api/leads/{lead_id}",
        path_params={"lead_id": lead_id},
        method="GET",
        write_key=None,
        user=user,
    )


def get(path: str) -> dict[str, Any]:
    return http_request(path, method="GET", write_key=None)


@pytest.fixture
def scored_lead(track: Any, form: Any, score: Any, account: Any, new_records: Any, filters: Any) -> str:
    """Jane's journey (three pages, the demo form as a VP), scored and rolled up into her account; the
    lead her card is under (her device's, which her e-mail's lead was merged into)."""
    visit_and_request_demo(track, form, title="VP Marketing")
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    assert account.lambda_handler({"Records": new_records(filters["AccountFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    return lead_of("anon-1")


def test_the_card_of_a_scored_lead_has_who_the_split_score_and_its_ledger_history_timeline_and_account(
    api: Any, score: Any, scored_lead: str
) -> None:
    answer = api.lambda_handler(card_request(scored_lead, signed_in("sales")), CTX)

    assert answer["statusCode"] == 200, answer["body"]
    card = response_json(answer)
    assert card["lead_id"] == scored_lead
    assert card["contact"] == {
        "name": "Jane Doe",
        "title": "VP Marketing",
        "company": "Acme",
        "email": "jane@acme.com",
        "phone": None,
    }
    assert card["stage"] == "SQL"
    [change] = card["stage_history"]
    assert (change["from_stage"], change["to_stage"], change["by"]) == ("lead", "SQL", "scoring")
    demo = points(score.model, "demo_request")
    assert change["reasons"][0] == {"label": "Requested a demo", "points": demo}

    split = card["score"]
    assert split["fit"] == points(score.model, "work_email", "senior_title")
    assert split["engagement"] == pytest.approx(points(score.model, *DEMO_JOURNEY), abs=0.1)
    assert split["total"] == pytest.approx(split["fit"] + split["engagement"], abs=0.1)
    ledger = {entry["rule_id"]: entry for entry in split["ledger"]}
    assert set(ledger) == {*DEMO_JOURNEY, "work_email", "senior_title"}  # every rule, not the top four
    assert {ledger[rule]["times"] for rule in DEMO_JOURNEY} == {1}
    assert ledger["pricing_page"]["counting"] == pytest.approx(1.0, abs=0.01)  # nothing decayed yet
    assert (ledger["senior_title"]["kind"], ledger["senior_title"]["times"]) == ("fit", None)

    # newest first: the form, then the pages backwards, whichever of her leads recorded them
    timeline = [(a["type"], a["path"] or a["form_id"]) for a in card["activity"]]
    assert timeline == [
        ("form", "demo-request"),
        ("page", "/pricing"),
        ("page", "/blog/speed-to-lead"),
        ("page", "/"),
    ]
    assert card["activity_stored"] == 4
    assert (card["page_views"], card["sessions"]) == (3, 1)
    assert card["first_touch"]["landing_path"] == "/"
    assert card["account"]["domain"] == "acme.com"
    assert card["account"]["people"] == 1
    assert (card["owner"], card["sla"]) == (None, None)
    # nothing answered yet: the active framework (BANT) with everything it asks still open
    assert card["qualification"]["framework"] == "BANT"
    assert card["qualification"]["missing_required"] == ["budget", "authority", "need"]
    assert (card["qualification"]["completeness"], card["notes"]) == (0, [])


def test_a_lead_merged_into_another_answers_308_to_that_ones_card(api: Any, scored_lead: str) -> None:
    card = response_json(api.lambda_handler(card_request(scored_lead, signed_in("sales")), CTX))
    [merged] = card["merged_leads"]

    answer = api.lambda_handler(card_request(merged, signed_in("sales")), CTX)

    assert answer["statusCode"] == 308
    assert answer["headers"]["Location"] == scored_lead  # relative: the stage's prefix stays
    assert response_json(answer)["lead_id"] == scored_lead


@pytest.mark.parametrize("groups", [("sales",), ("marketing",), ("admin",), ("marketing", "sales")])
def test_every_role_may_read_a_card(api: Any, scored_lead: str, groups: tuple[str, ...]) -> None:
    assert api.lambda_handler(card_request(scored_lead, signed_in(*groups)), CTX)["statusCode"] == 200


def test_a_user_in_no_role_group_is_refused_with_403_and_no_data(api: Any, scored_lead: str) -> None:
    for user in (signed_in(), signed_in("guests")):
        answer = api.lambda_handler(card_request(scored_lead, user), CTX)

        assert answer["statusCode"] == 403
        assert "none of them" in response_json(answer)["error"]
        assert "jane" not in answer["body"].lower()


def test_without_the_authorizers_claims_the_card_is_401(api: Any, scored_lead: str) -> None:
    answer = api.lambda_handler(card_request(scored_lead), CTX)

    assert answer["statusCode"] == 401
    assert "Bearer" in response_json(answer)["error"]


def test_an_unknown_lead_is_404_naming_it_and_a_malformed_id_400_naming_the_field(api: Any) -> None:
    unknown = api.lambda_handler(card_request("Lnobody", signed_in("sales")), CTX)
    malformed = api.lambda_handler(card_request("a b<script>", signed_in("sales")), CTX)

    assert (unknown["statusCode"], response_json(unknown)["error"]) == (404, "no lead 'Lnobody'")
    assert malformed["statusCode"] == 400
    assert [d["field"] for d in response_json(malformed)["details"]] == ["lead_id"]
    assert "<script>" not in malformed["body"]


def test_reading_a_card_logs_no_personal_data(
    api: Any, scored_lead: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    capsys.readouterr()
    with caplog.at_level(logging.INFO):  # what Lambda would keep (botocore debug would show any item)
        answer = api.lambda_handler(card_request(scored_lead, signed_in("sales")), CTX)
    logged = capsys.readouterr().out + capsys.readouterr().err + caplog.text

    assert answer["statusCode"] == 200
    assert "lead card read" in logged
    for personal in ("jane@acme.com", "Jane Doe", "VP Marketing"):
        assert personal not in logged


def test_the_openapi_document_is_valid_openapi_3_generated_from_the_leadcard_model(api: Any) -> None:
    answer = api.lambda_handler(get("/api/openapi.json"), CTX)

    assert answer["statusCode"] == 200
    document = json.loads(answer["body"])
    validate(document)
    assert document["openapi"].startswith("3.")
    card = document["paths"]["/api/leads/{lead_id}"]["get"]
    assert card["security"] == [{"cognito": []}]
    schema = card["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/LeadCard"}
    properties = document["components"]["schemas"]["LeadCard"]["properties"]
    assert {"contact", "score", "stage_history", "activity", "account", "owner", "sla"} <= set(properties)
    assert document["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"


def test_the_swagger_ui_is_served_with_its_assets_inline(api: Any) -> None:
    answer = api.lambda_handler(get("/api/docs"), CTX)

    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "text/html"
    page = answer["body"]
    if answer.get("isBase64Encoded"):  # compressed when the browser accepts gzip
        page = gzip.decompress(base64.b64decode(page)).decode()
    assert "SwaggerUIBundle" in page
    # the bundle and its styles are in the page itself: no CDN, no third-party request
    assert "<script src=" not in page
    assert "<link rel=" not in page
    assert "<style>" in page
