"""CORS as browsers meet it: preflights answered from the sources' origins, answers a page can read, and a
site added with the command line working at once (no redeploy, whatever a warm container remembers)."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy, SourceStatus
from leadstream.sources.repository import SourceRepository

from tests.builders import LambdaContext, http_request, page_view, response_json
from tests.integration.conftest import SITE, dynamodb_calls

CTX = LambdaContext()
SHOP = "https://shop.acme-demo.test"
NOW = datetime.now(UTC)


@pytest.fixture
def admin(stack: Any, aws: Any) -> SourceAdmin:
    return SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))


def preflight(track: Any, origin: str | None, path: str = "/v1/t") -> dict[str, Any]:
    headers = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
    if origin is not None:
        headers["origin"] = origin
    event = http_request(
        path, None, method="OPTIONS", route="/v1/{proxy+}", headers=headers, write_key=None, content_type=""
    )
    return track.lambda_handler(event, CTX)


def cors(response: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (response.get("headers") or {}).items() if k.lower() != "content-type"}


def page(track: Any, origin: str | None, **kwargs: Any) -> dict[str, Any]:
    headers = {"origin": origin} if origin else {}
    return track.lambda_handler(
        http_request(
            "/v1/p", json.dumps(page_view("a", "/")), headers=headers, content_type="text/plain", **kwargs
        ),
        CTX,
    )


def refused_everywhere(track: Any, origin: str) -> bool:
    """What a warm container says a minute later (its positive answers expired)."""
    track.origins.forget()
    return preflight(track, origin)["statusCode"] == 403


# --- preflights -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/t", "/v1/batch", "/v1/forms/demo-request", "/v1/lb.js"])
def test_a_preflight_from_a_sources_origin_is_a_204_for_that_origin_only(track, path):
    response = preflight(track, SITE, path)

    assert response["statusCode"] == 204
    assert cors(response) == {
        "access-control-allow-origin": SITE,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": "content-type, authorization",
        "access-control-max-age": "86400",
        "vary": "Origin",
    }


def test_a_preflight_from_any_other_origin_is_a_403_that_names_the_fix_and_allows_nothing(track):
    response = preflight(track, "https://evil.example")

    assert response["statusCode"] == 403
    error = response_json(response)["error"]
    assert "origin https://evil.example is not allowed" in error
    assert "python -m cli sources origins <source-id> --add https://evil.example" in error
    assert not [h for h in cors(response) if h.startswith("access-control-")]


@pytest.mark.parametrize(
    "origin", ["null", "file://", "chrome-extension://abc", "https://" + "a" * 3000 + ".test", "HTTPS://X"]
)
def test_an_origin_no_source_can_list_is_refused_without_a_look_up(track, origin):
    with dynamodb_calls() as calls:
        response = preflight(track, origin)

    assert response["statusCode"] == 403
    assert calls == {}


def test_an_options_request_without_an_origin_is_a_400_that_says_what_is_missing(track):
    response = preflight(track, None)

    assert response["statusCode"] == 400
    assert "Origin" in response_json(response)["error"]


def test_a_preflight_costs_one_query_of_one_item_and_then_nothing_for_a_minute(track):
    with dynamodb_calls() as first:
        assert preflight(track, SITE)["statusCode"] == 204
    with dynamodb_calls() as again:
        assert preflight(track, SITE)["statusCode"] == 204

    assert first == {"Query": 1}
    assert again == {}


# --- the origin index follows the sources ---------------------------------------------------------------


def test_a_site_created_with_an_origin_passes_at_once_even_just_after_a_refusal(track, admin):
    assert preflight(track, SHOP)["statusCode"] == 403  # refusals are not remembered

    created = admin.create("Shop", (SHOP,), Privacy(), NOW)

    assert preflight(track, SHOP)["statusCode"] == 204
    assert page(track, SHOP, write_key=created.write_key)["statusCode"] == 200


def test_an_origin_added_to_a_source_works_at_once_in_a_warm_container(track, admin):
    before = page(track, SHOP)  # the demo key's source is now remembered, without SHOP
    assert before["statusCode"] == 403

    admin.set_origins("demo-site", (SHOP,), (), NOW)

    assert preflight(track, SHOP)["statusCode"] == 204
    after = page(track, SHOP)
    assert after["statusCode"] == 200
    assert cors(after)["access-control-allow-origin"] == SHOP


def test_a_removed_origin_is_refused_and_the_others_stay(track, admin):
    admin.set_origins("demo-site", (SHOP,), (), NOW)
    admin.set_origins("demo-site", (), (SITE,), NOW)
    track.intake.directory.forget()

    assert refused_everywhere(track, SITE)
    assert page(track, SITE)["statusCode"] == 403
    assert preflight(track, SHOP)["statusCode"] == 204
    assert admin.get("demo-site").allowed_origins == ("http://localhost:3000", "http://localhost", SHOP)


def test_disabling_a_source_takes_its_origins_out_of_preflights_and_enabling_brings_them_back(track, admin):
    admin.set_status("demo-site", SourceStatus.DISABLED, NOW)
    assert refused_everywhere(track, SITE)

    admin.set_status("demo-site", SourceStatus.ACTIVE, NOW)
    assert preflight(track, SITE)["statusCode"] == 204


def test_an_origin_two_sources_list_passes_while_either_is_active(track, admin):
    other = admin.create("Blog", (SITE,), Privacy(), NOW)
    admin.set_status("demo-site", SourceStatus.DISABLED, NOW)
    track.origins.forget()
    assert preflight(track, SITE)["statusCode"] == 204

    admin.set_origins(other.source.id, (), (SITE,), NOW)
    assert refused_everywhere(track, SITE)


def test_reindex_rebuilds_the_index_of_a_stack_from_before_it(track, admin, aws, stack):
    table = stack.physical_name("SourcesTable")
    index = aws["dynamodb"].scan(
        TableName=table,
        FilterExpression="begins_with(pk, :o)",
        ExpressionAttributeValues={":o": {"S": "ORIGIN#"}},
    )["Items"]
    for item in index:  # what a stack deployed before the index holds: profiles only
        aws["dynamodb"].delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    assert refused_everywhere(track, SITE)

    assert admin.reindex_origins() == len(index) > 0
    assert preflight(track, SITE)["statusCode"] == 204
    assert admin.reindex_origins() == 0


# --- every answer to a page is readable by it, never with `*` -------------------------------------------


def test_an_accepted_call_from_a_browser_carries_its_origin_back(track):
    response = page(track, SITE)

    assert response["statusCode"] == 200
    assert cors(response) == {"access-control-allow-origin": SITE, "vary": "Origin"}


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({}, 403, "origin https://evil.example is not allowed for this source"),
        ({"write_key": "lsk_guess"}, 401, "unknown or retired write key"),
        ({"write_key": None}, 401, "a write key is required"),
    ],
)
def test_a_refusal_is_readable_by_the_page_it_refuses(track, kwargs, status, says):
    response = page(track, "https://evil.example", **kwargs)

    assert response["statusCode"] == status
    assert says in response_json(response)["error"]
    assert cors(response) == {"access-control-allow-origin": "https://evil.example", "vary": "Origin"}


def test_a_bad_request_from_a_browser_is_readable_too(track):
    event = http_request("/v1/t", "{not json", headers={"origin": SITE}, content_type="text/plain")
    response = track.lambda_handler(event, CTX)

    assert response["statusCode"] == 400
    assert cors(response)["access-control-allow-origin"] == SITE


@pytest.mark.parametrize("origin", [None, "null", "https://a.test\r\nSet-Cookie: x=1"])
def test_no_cors_header_without_a_websites_origin(track, origin):
    response = page(track, origin)

    assert not [h for h in cors(response) if h.startswith("access-control-")]


def test_the_snippet_keeps_its_own_headers_and_gains_the_origin(track):
    event = http_request("/v1/lb.js", None, method="GET", headers={"origin": SITE}, write_key=None)
    response = track.lambda_handler(event, CTX)

    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "public, max-age=3600"
    assert response["headers"]["Access-Control-Allow-Origin"] == SITE


def test_form_json_answers_are_readable_by_the_posting_page(form):
    def submit(origin: str) -> dict[str, Any]:
        body = json.dumps({"email": "jane@acme.com", "anonymousId": "a"})
        event = http_request(
            "/v1/forms/demo",
            body,
            route="/v1/forms/{form_id}",
            path_params={"form_id": "demo"},
            headers={"origin": origin},
        )
        return form.lambda_handler(event, CTX)

    accepted, refused = submit(SITE), submit("https://evil.example")

    assert (accepted["statusCode"], refused["statusCode"]) == (200, 403)
    assert cors(accepted) == {"access-control-allow-origin": SITE, "vary": "Origin"}
    assert cors(refused) == {"access-control-allow-origin": "https://evil.example", "vary": "Origin"}
    assert "not allowed" in response_json(refused)["error"]


def test_no_answer_ever_says_any_origin(track, form):
    answers = [preflight(track, SITE), preflight(track, "https://evil.example"), page(track, SITE)]
    answers += [page(track, "https://evil.example"), page(track, SITE, write_key="lsk_guess")]

    assert all(cors(a).get("access-control-allow-origin") != "*" for a in answers)
