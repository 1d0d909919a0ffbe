"""FormFunction against moto: plain HTML forms and JavaScript posts."""

from typing import Any

from leadstream.tracking.events import EventType

from tests.builders import LambdaContext, http_request, page_view, response_json
from tests.integration.conftest import lead_of

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

    first = submit(form, fields, content_type="application/json")
    again = submit(form, fields, content_type="application/json")

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
