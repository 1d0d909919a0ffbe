"""FormFunction against moto: plain HTML forms and JavaScript posts."""

from typing import Any
from urllib.parse import quote

import pytest
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import forms
from leadstream.tracking.events import EventType

from tests.builders import LambdaContext, http_request, page_view, response_json
from tests.integration.conftest import lead_of
from tests.integration.test_segment_api import counters, dynamodb_fails

CTX = LambdaContext()
SITE = "https://www.acme-demo.test"
FORM = "application/x-www-form-urlencoded"


def submit(
    form: Any,
    fields: dict[str, str],
    *,
    content_type: str = FORM,
    referer: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    headers = {**({"referer": referer} if referer else {}), **(headers or {})}
    event = http_request(
        "/v1/forms/demo-request",
        fields,
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type=content_type,
        headers=headers,
    )
    return form.lambda_handler(event, CTX)


def test_a_plain_html_form_redirects_to_the_thank_you_page(form, profiles, behaviour):
    response = submit(
        form,
        {"email": "jane@acme.com", "name": "Jane Doe", "_next": "/thanks"},
        referer=f"{SITE}/request-demo",
    )

    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{SITE}/thanks"
    contact = lead_of(email="jane@acme.com")  # no anonymous id: the e-mail's own lead
    profile = profiles.load(contact)
    assert profile is not None
    assert (profile.email, profile.name) == ("jane@acme.com", "Jane Doe")
    [(lead, event)] = behaviour()
    assert (lead, event.type, event.form_id) == (contact, EventType.FORM, "demo-request")


def test_the_visitor_keeps_the_history_earned_while_anonymous(form, track, profiles, scores, behaviour):
    track.lambda_handler(http_request("/v1/page", page_view("anon-9", "/pricing")), CTX)

    submit(form, {"email": "jane@acme.com", "anonymousId": "anon-9"}, referer=f"{SITE}/request-demo")

    # the contact joined the visitor's lead and its history
    visitor = lead_of("anon-9")
    assert [(lead, event.type) for lead, event in behaviour()] == [
        (visitor, EventType.PAGE),
        (visitor, EventType.FORM),
    ]
    profile = profiles.load(visitor)
    assert profile is not None
    assert profile.email == "jane@acme.com"
    # the e-mail's own lead (where an e-mail-only form would land) points at the visitor's, and holds nothing
    email_lead = lead_of(email="jane@acme.com")
    assert scores.load(email_lead).merged_into == visitor
    assert profiles.load(email_lead) is None


def test_a_json_form_post_answers_json(form, items):
    response = submit(form, {"email": "jane@acme.com", "company": "Acme"}, content_type="application/json")

    assert response["statusCode"] == 200
    assert response_json(response) == {"success": True}


def test_resubmitting_the_same_form_stores_it_once(form, behaviour):
    fields = {"email": "jane@acme.com", "anonymousId": "anon-10"}
    first, again = submit_event(fields), submit_event(fields)
    again["requestContext"]["timeEpoch"] = first["requestContext"]["timeEpoch"]  # within the same minute

    first = form.lambda_handler(first, CTX)
    again = form.lambda_handler(again, CTX)

    assert first["statusCode"] == again["statusCode"] == 200
    assert [(lead, event.type) for lead, event in behaviour()] == [(lead_of("anon-10"), EventType.FORM)]


def test_an_invalid_email_gets_a_json_400_and_nothing_is_stored(form, items):
    response = submit(form, {"email": "not-an-email"}, referer=f"{SITE}/request-demo")

    assert response["statusCode"] == 400
    assert response_json(response)["details"][0]["field"] == "email"
    assert items() == []


def test_a_thank_you_url_on_a_foreign_site_is_refused(form, items):
    response = submit(
        form, {"email": "jane@acme.com", "_next": "https://evil.example/phish"}, referer=f"{SITE}/x"
    )

    assert response["statusCode"] == 400
    assert "not on an allowed origin" in response_json(response)["error"]
    assert items() == []


def test_a_form_from_a_browser_that_sends_no_referer_is_still_stored_and_thanked(form, profiles, behaviour):
    response = submit(form, {"email": "jane@acme.com", "_next": "/thanks"})

    assert response["statusCode"] == 200
    assert "Thank you" in response["body"]
    assert profiles.load(lead_of(email="jane@acme.com")) is not None
    assert len(behaviour()) == 1


def test_a_relative_thank_you_url_resolves_against_the_origin_when_there_is_no_referer(form):
    response = submit(form, {"email": "jane@acme.com", "_next": "/thanks"}, headers={"origin": SITE})

    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{SITE}/thanks"


def test_a_malformed_thank_you_url_is_a_400(form, items):
    response = submit(form, {"email": "jane@acme.com", "_next": "http://[oops/"}, referer=f"{SITE}/x")

    assert response["statusCode"] == 400
    assert "not a valid URL" in response_json(response)["error"]
    assert items() == []


# --- bots, floods, and what goes into a Location (third review) -------------------------------------------

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1"


def bot_hits(stack: Any) -> int:
    return sum(SourceRepository(stack.physical_name("SourcesTable")).bot_hits("demo-site").values())


@pytest.mark.parametrize(
    "next_url",
    [
        "http://localhost:3000/x\r\nSet-Cookie: pwned=1",
        "http://localhost:3000/x\nLocation: https://evil.example",
        "http://localhost:3000/x\x00",
    ],
)
def test_a_thank_you_url_with_control_characters_is_a_400_never_a_header(form, items, next_url):
    event = http_request(
        "/v1/forms/demo-request",
        "email=jane%40acme.com&_next=" + quote(next_url, safe=":/"),
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type=FORM,
    )

    response = form.lambda_handler(event, CTX)

    assert response["statusCode"] == 400
    assert [d["field"] for d in response_json(response)["details"]] == ["_next"]
    assert "Location" not in response.get("headers", {})
    assert items() == []


def test_the_location_is_the_thank_you_url_written_again_not_the_text_as_it_came(form):
    response = submit(form, {"email": "jane@acme.com", "_next": f'{SITE}/thanks page?a=<b>"c"#top'})

    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{SITE}/thanks%20page?a=%3Cb%3E%22c%22#top"


@pytest.mark.parametrize(
    ("fields", "headers"),
    [
        ({"email": "jane@acme.com"}, {"user-agent": GOOGLEBOT}),
        ({"email": "jane@acme.com", "_hp": "http://spam.example"}, {"user-agent": BROWSER}),
        ({"email": "not-even-an-email", "_hp": "x"}, {"user-agent": BROWSER}),
    ],
    ids=["crawler", "honeypot", "honeypot-invalid"],
)
def test_a_bot_is_answered_like_a_person_but_only_counted(form, stack, items, fields, headers):
    response = submit(form, {**fields, "_next": "/thanks"}, referer=f"{SITE}/request-demo", headers=headers)

    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == f"{SITE}/thanks"
    assert items() == []
    assert bot_hits(stack) == 1


def test_a_bot_posting_json_gets_the_json_success_a_person_gets(form, items):
    response = submit(
        form, {"email": "jane@acme.com"}, content_type="application/json", headers={"user-agent": GOOGLEBOT}
    )

    assert (response["statusCode"], response_json(response)) == (200, {"success": True})
    assert items() == []


def test_a_flood_of_submissions_is_limited_per_source_and_minute(form, behaviour, monkeypatch):
    monkeypatch.setattr(forms, "FORMS_PER_MINUTE", 2)
    flood = [submit_event({"email": f"p{i}@acme.com"}) for i in range(4)]
    for event in flood:  # all in one minute
        event["requestContext"]["timeEpoch"] = flood[0]["requestContext"]["timeEpoch"]

    *answers, limited = [form.lambda_handler(event, CTX) for event in flood]

    assert [a["statusCode"] for a in answers] == [200, 200, 429]
    assert limited["statusCode"] == 429
    assert 1 <= int(limited["headers"]["Retry-After"]) <= 60
    assert response_json(limited)["success"] is False
    assert len(behaviour()) == 2


def test_a_throttled_counter_never_costs_a_submission(form, behaviour):
    with dynamodb_fails(counters) as refused:
        response = submit(form, {"email": "jane@acme.com"}, content_type="application/json")
        bot = submit(
            form, {"email": "x@acme.com"}, content_type="application/json", headers={"user-agent": GOOGLEBOT}
        )

    assert refused == ["UpdateItem", "UpdateItem"]  # the rate counter, then the bot counter
    assert (response["statusCode"], bot["statusCode"]) == (200, 200)
    assert len(behaviour()) == 1


def test_the_same_demo_request_sent_again_later_is_kept(form, behaviour):
    fields = {"email": "jane@acme.com", "anonymousId": "anon-11"}
    first = submit_event(fields)
    later = submit_event(fields)
    later["requestContext"]["timeEpoch"] = first["requestContext"]["timeEpoch"] + 61_000

    for event in (first, first, later):  # a double click, then the same request a minute later
        assert form.lambda_handler(event, CTX)["statusCode"] == 200

    assert [event.type for _lead, event in behaviour()] == [EventType.FORM, EventType.FORM]


def submit_event(fields: dict[str, str]) -> dict[str, Any]:
    return http_request(
        "/v1/forms/demo-request",
        fields,
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type="application/json",
    )
