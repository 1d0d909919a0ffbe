"""TrackFunction against moto: what a website sees, and what ends up stored."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from leadstream.tracking.attribution import Channel
from leadstream.tracking.events import EventType

from tests.builders import LambdaContext, http_request, page_view, response_json
from tests.integration.conftest import lead_of, throttled_puts

CTX = LambdaContext()


def call(track: Any, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    return track.lambda_handler(http_request(path, body, **kwargs), CTX)


def test_page_view_is_stored_once_per_message_id(track, behaviour, items):
    body = page_view("anon-1", "/pricing", message_id="m-1")

    first = call(track, "/v1/page", body)
    retry = call(track, "/v1/page", body)

    assert first["statusCode"] == 200
    assert response_json(first) == {"success": True}
    assert retry["statusCode"] == 200
    [(lead, event)] = behaviour()
    assert lead == lead_of("anon-1")
    assert (event.message_id, event.type, event.path) == ("m-1", EventType.PAGE, "/pricing")
    # raw behaviour expires by TTL: the storage format itself
    [stored] = [i for i in items() if i["sk"]["S"] == "EVT#m-1"]
    assert "expires_at" in stored


def test_page_view_records_the_acquisition_channel(track, behaviour):
    body = page_view("anon-2", "/")
    body["context"]["page"]["url"] = (
        "https://www.acme-demo.test/?utm_source=linkedin&utm_medium=paid_social&utm_campaign=launch"
    )

    call(track, "/v1/page", body)

    [(_lead, event)] = behaviour()
    assert event.touch is not None
    assert (event.touch.channel, event.touch.source, event.touch.campaign) == (
        Channel.PAID_SOCIAL,
        "linkedin",
        "launch",
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("", "empty"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"messageId": "m", "context": {}}), "anonymousId or userId"),
        (json.dumps({"type": "track", "anonymousId": "a"}), "does not match this endpoint"),
    ],
)
def test_bad_input_gets_a_400_naming_the_problem_and_stores_nothing(track, items, body, problem):
    response = call(track, "/v1/page", body)

    assert response["statusCode"] == 400
    assert problem in response["body"]
    assert response_json(response)["success"] is False
    assert items() == []


def test_a_track_call_without_an_event_name_is_rejected(track, items):
    response = call(track, "/v1/track", {"anonymousId": "a"})

    assert response["statusCode"] == 400
    assert "'event' name" in response["body"]
    assert items() == []


def test_an_oversized_event_is_rejected(track, items):
    body = page_view("anon-3", "/")
    body["properties"] = {"blob": "x" * 33 * 1024}

    response = call(track, "/v1/page", body)

    assert response["statusCode"] == 400
    assert "limit is 32768 bytes" in response_json(response)["error"]
    assert items() == []


def test_an_invalid_email_is_rejected_without_echoing_it(track, items):
    response = call(track, "/v1/identify", {"anonymousId": "a", "traits": {"email": "jane@@acme"}})

    assert response["statusCode"] == 400
    details = response_json(response)["details"]
    assert details[0]["field"] == "traits.email"
    assert "jane@@acme" not in response["body"]
    assert items() == []


def test_identify_with_a_work_email_makes_a_known_lead_in_an_account(
    track, behaviour, profiles, accounts, items
):
    call(track, "/v1/page", page_view("anon-4", "/pricing"))
    response = call(
        track,
        "/v1/identify",
        {"anonymousId": "anon-4", "traits": {"email": "Jane@Eu.Acme.co.uk", "name": "Jane Doe"}},
    )

    assert response["statusCode"] == 200
    # the anonymous history and the identity are the same lead
    visitor = lead_of("anon-4")
    assert [(lead, event.type) for lead, event in behaviour()] == [
        (visitor, EventType.PAGE),
        (visitor, EventType.IDENTIFY),
    ]
    profile = profiles.load(visitor)
    assert profile is not None
    assert (profile.email, profile.name, profile.account) == ("jane@eu.acme.co.uk", "Jane Doe", "acme.co.uk")
    account, members = accounts("acme.co.uk")
    assert account is not None
    assert members == {visitor}
    # the e-mail is never part of a key (the storage format itself)
    assert all("acme" not in i["pk"]["S"] for i in items())


def test_a_free_mail_address_creates_no_account(track, aws, stack, profiles):
    call(track, "/v1/identify", {"anonymousId": "anon-5", "traits": {"email": "someone@gmail.com"}})

    profile = profiles.load(lead_of("anon-5"))
    assert profile is not None
    assert (profile.email_kind, profile.account) == ("free", None)
    assert (
        aws["dynamodb"].scan(TableName=stack.physical_name("AccountsTable"))["Items"] == []
    )  # nothing at all


def test_a_batch_stores_valid_messages_and_names_the_rejected_ones(track, behaviour):
    batch = {
        "batch": [
            {"type": "page", **page_view("anon-6", "/")},
            {"type": "page", "messageId": "no-identity"},
            {"type": "bogus", "anonymousId": "anon-6"},
            {"type": "track", "anonymousId": "anon-6", "event": "Signed Up"},
        ],
        "context": {"userAgent": "Mozilla/5.0"},
    }

    response = call(track, "/v1/batch", batch)

    assert response["statusCode"] == 200
    result = response_json(response)
    assert result["accepted"] == 2
    assert [r["index"] for r in result["rejected"]] == [1, 2]
    assert [event.type for _lead, event in behaviour()] == [EventType.PAGE, EventType.TRACK]


def test_a_batch_with_no_valid_message_is_a_400(track, items):
    response = call(track, "/v1/batch", {"batch": [{"type": "page"}]})

    assert response["statusCode"] == 400
    assert items() == []


def test_throttling_tells_the_client_to_retry(track, items):
    with throttled_puts():
        response = call(track, "/v1/page", page_view("anon-7", "/"))

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert "retry" in response_json(response)["error"]
    assert items() == []  # nothing at all was stored


@pytest.mark.parametrize(
    "body",
    [
        {"timestamp": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")},  # no zone: UTC
        {"properties": {"referrer": 5, "url": ["x"], "path": {"a": 1}}},  # SDKs send anything
        {"context": {"page": {"url": "http://[oops/", "referrer": "http://[bad"}}},
    ],
)
def test_odd_but_harmless_input_is_stored_not_a_500(track, behaviour, body):
    response = call(track, "/v1/page", {"anonymousId": "anon-odd", **body})

    assert response["statusCode"] == 200
    assert [lead for lead, _event in behaviour()] == [lead_of("anon-odd")]


def test_a_batch_message_whose_context_is_not_an_object_is_rejected_alone(track, behaviour):
    batch = {
        "batch": [{"type": "page", "anonymousId": "a", "context": "x"}, {"type": "page", "anonymousId": "a"}]
    }

    response = call(track, "/v1/batch", batch)

    assert response["statusCode"] == 200
    assert [r["index"] for r in response_json(response)["rejected"]] == [0]
    assert len(behaviour()) == 1
