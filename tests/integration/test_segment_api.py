"""TrackFunction as Segment-style SDKs, browsers and e-mail clients meet it: keys, limits, calls, privacy."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from leadstream.identity.identifiers import email_digest, email_lead
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import IpMode, Privacy, SourceStatus
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import email_links as links
from leadstream.tracking.events import EventType

from tests.builders import LambdaContext, http_request, page_view, points, response_json
from tests.integration.conftest import dynamodb_calls, lead_of, throttled_puts

CTX = LambdaContext()
SITE = "https://www.acme-demo.test"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1"


def call(track: Any, path: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    return track.lambda_handler(http_request(path, body, **kwargs), CTX)


@pytest.fixture
def admin(stack: Any, aws: Any) -> SourceAdmin:
    return SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))


def fresh_directory(track: Any) -> None:
    track.intake.directory.forget()  # what a minute of waiting does for a warm container


# --- paths and content types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "stored_type"),
    [
        ("/v1/p", {"anonymousId": "a", "context": {"page": {"path": "/pricing"}}}, "page"),
        ("/v1/t", {"anonymousId": "a", "event": "Signed Up"}, "track"),
        ("/v1/i", {"anonymousId": "a", "traits": {"title": "CTO"}}, "identify"),
        ("/v1/s", {"userId": "u", "name": "Dashboard"}, "screen"),
        ("/v1/screen", {"userId": "u", "name": "Dashboard"}, "screen"),
    ],
)
def test_short_paths_and_text_plain_bodies_are_accepted(track, behaviour, path, body, stored_type):
    response = call(track, path, json.dumps(body), content_type="text/plain")

    assert response["statusCode"] == 200
    assert response_json(response) == {"success": True}
    assert [event.type.value for _lead, event in behaviour()] == [stored_type]


def test_the_write_key_may_come_in_the_body(track, behaviour):
    body = {**page_view("a", "/"), "writeKey": "lsk_local_demo"}

    assert call(track, "/v1/page", body, write_key=None)["statusCode"] == 200
    assert len(behaviour()) == 1


# --- keys and origins ----------------------------------------------------------------------------------


def test_no_key_unknown_key_and_foreign_origin_are_refused_and_nothing_is_stored(track, items):
    body = page_view("a", "/")

    no_key = call(track, "/v1/page", body, write_key=None)
    unknown = call(track, "/v1/page", body, write_key="lsk_guess")
    foreign = call(track, "/v1/page", body, headers={"origin": "https://evil.example"})

    assert (no_key["statusCode"], unknown["statusCode"], foreign["statusCode"]) == (401, 401, 403)
    assert "write key is required" in response_json(no_key)["error"]
    assert "not allowed" in response_json(foreign)["error"]
    assert "lsk_guess" not in unknown["body"]
    assert items() == []


def test_an_allowed_origin_is_accepted(track, behaviour):
    assert call(track, "/v1/page", page_view("a", "/"), headers={"origin": SITE})["statusCode"] == 200
    assert len(behaviour()) == 1


def test_a_disabled_source_is_refused(track, admin, items):
    admin.set_status("demo-site", SourceStatus.DISABLED, datetime.now(UTC))
    fresh_directory(track)

    response = call(track, "/v1/page", page_view("a", "/"))

    assert response["statusCode"] == 401
    assert "disabled" in response_json(response)["error"]


def test_a_rotated_key_works_during_its_grace_period_only(track, admin, items):
    created = admin.create("Shop", (SITE,), Privacy(), datetime.now(UTC))
    new_key = admin.rotate(created.source.id, timedelta(hours=1), datetime.now(UTC))
    fresh_directory(track)

    assert call(track, "/v1/page", page_view("a", "/"), write_key=created.write_key)["statusCode"] == 200
    assert call(track, "/v1/page", page_view("a", "/"), write_key=new_key)["statusCode"] == 200

    admin.rotate(created.source.id, timedelta(0), datetime.now(UTC))  # retire both now
    fresh_directory(track)
    assert call(track, "/v1/page", page_view("a", "/"), write_key=created.write_key)["statusCode"] == 401


# --- limits and batches -------------------------------------------------------------------------------


def test_batch_limits_are_enforced_with_a_400(track, items):
    too_many = {"batch": [{"type": "page", "anonymousId": "a"}] * 2501}
    too_big = {"batch": [{"type": "page", "anonymousId": "a", "properties": {"x": "y" * 30_000}}] * 18}

    many = call(track, "/v1/batch", too_many)
    big = call(track, "/v1/b", too_big)

    assert many["statusCode"] == 400
    assert "batch" in json.dumps(response_json(many)["details"])
    assert big["statusCode"] == 400
    assert "limit is 512000 bytes" in response_json(big)["error"]
    assert items() == []


def test_a_resent_batch_is_accepted_and_scored_once(track, score, new_records, filters, behaviour, scores):
    batch = {
        "batch": [
            {"type": "page", **page_view("a", "/pricing", message_id="m1")},
            {"type": "page", **page_view("a", "/blog/x", message_id="m2")},
            {"type": "track", "anonymousId": "a"},  # no event name: rejected
        ]
    }

    first = call(track, "/v1/batch", batch)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    again = call(track, "/v1/batch", batch)  # the SDK did not hear the answer and retries
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    for response in (first, again):
        assert response["statusCode"] == 200
        assert response_json(response)["accepted"] == 2
        assert [r["index"] for r in response_json(response)["rejected"]] == [2]
    assert len(behaviour()) == 2
    lead = scores.load(lead_of("a")).score
    assert lead.events == 2
    assert lead.behaviour == pytest.approx(points(score.model, "pricing_page", "blog_post"), abs=0.01)  # once


def test_a_batch_is_written_25_messages_to_a_request(track, behaviour):
    batch = {"batch": [{"type": "page", **page_view(f"v{i}", "/")} for i in range(60)]}
    with dynamodb_calls() as sent:
        call(track, "/v1/batch", batch)

    writes = {op: n for op, n in sent.items() if op in ("PutItem", "UpdateItem", "BatchWriteItem")}
    assert writes == {"BatchWriteItem": 3}  # what DynamoDB really received (besides the key look-up)
    assert len(behaviour()) == 60


def test_a_server_sdk_batch_looks_each_user_up_once(track, behaviour):
    batch = {
        "batch": [
            {"type": "track", "userId": f"user-{i % 3}", "messageId": f"m-{i}", "event": "Ran Report"}
            for i in range(30)
        ]
    }

    with dynamodb_calls() as sent:
        assert call(track, "/v1/batch", batch)["statusCode"] == 200

    assert sent["BatchGetItem"] == 3  # one identity look-up per user, not per message
    assert len(behaviour()) == 30


# --- what is stored ---------------------------------------------------------------------------------------


def test_a_device_clock_that_is_off_is_corrected_with_sent_at(track, behaviour):
    event = http_request("/v1/page", {})
    received = datetime.fromtimestamp(event["requestContext"]["timeEpoch"] / 1000, UTC)
    device_now = received + timedelta(hours=3)  # the laptop's clock is three hours ahead
    body = {
        "anonymousId": "a",
        "originalTimestamp": (device_now - timedelta(seconds=5)).isoformat(),
        "sentAt": device_now.isoformat(),
    }
    event["body"] = json.dumps(body)

    track.lambda_handler(event, CTX)

    [(_lead, stored)] = behaviour()
    assert abs((stored.at - (received - timedelta(seconds=5))).total_seconds()) < 0.01


@pytest.mark.parametrize(
    ("mode", "expected"), [(IpMode.TRUNCATE, "203.0.113.0"), (IpMode.HASH, "h:"), (IpMode.DROP, None)]
)
def test_the_visitor_ip_is_anonymised_before_it_is_stored(track, admin, items, behaviour, mode, expected):
    created = admin.create("Privacy test", (SITE,), Privacy(ip_mode=mode), datetime.now(UTC))

    call(track, "/v1/page", page_view("a", "/"), write_key=created.write_key)  # request from 203.0.113.9

    [(_lead, event)] = behaviour()
    stored = event.ip
    assert "203.0.113.9" not in json.dumps(items())  # nowhere in the table, in any attribute
    if expected is None:
        assert stored is None
    else:
        assert stored.startswith(expected)


def test_raw_events_expire_after_the_sources_retention(track, admin, items):
    created = admin.create("Short memory", (SITE,), Privacy(retention_days=7), datetime.now(UTC))

    call(track, "/v1/page", page_view("a", "/"), write_key=created.write_key)

    # the table's TTL attribute is the storage format itself: no repository shows it
    [stored] = [i for i in items() if i["sk"]["S"].startswith("EVT#")]
    assert float(stored["expires_at"]["N"]) - float(stored["at"]["N"]) == pytest.approx(7 * 86400, abs=5)


@pytest.mark.parametrize("header", [{"dnt": "1"}, {"sec-gpc": "1"}])
def test_do_not_track_and_gpc_are_honoured_server_side(track, items, header):
    response = call(track, "/v1/page", page_view("a", "/"), headers=header)

    assert response["statusCode"] == 200
    assert items() == []


def test_a_source_may_choose_to_ignore_do_not_track(track, admin, behaviour):
    created = admin.create("Intranet", (SITE,), Privacy(honour_dnt=False), datetime.now(UTC))

    call(track, "/v1/page", page_view("a", "/"), write_key=created.write_key, headers={"dnt": "1"})

    assert len(behaviour()) == 1


def test_bots_are_counted_per_source_but_create_no_lead(track, stack, behaviour):
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    bot_view = {**page_view("crawler", "/pricing"), "context": {"userAgent": googlebot}}
    person = {**page_view("person", "/pricing"), "context": {"userAgent": BROWSER}}

    call(track, "/v1/page", bot_view)
    call(track, "/v1/batch", {"batch": [{"type": "page", **bot_view}, {"type": "page", **person}]})

    assert [lead for lead, _event in behaviour()] == [lead_of("person")]
    bots = SourceRepository(stack.physical_name("SourcesTable")).bot_hits("demo-site")
    assert sum(bots.values()) == 2


def test_group_attaches_the_lead_to_an_account_with_its_traits(track, accounts, profiles):
    body = {
        "userId": "u1",
        "groupId": "g-42",
        "traits": {
            "name": "Initech",
            "website": "https://www.initech.com",
            "industry": "Software",
            "employees": 120,
        },
    }

    assert call(track, "/v1/group", body)["statusCode"] == 200

    account, members = accounts("initech.com")
    assert account is not None
    assert (account.name, account.industry, account.employees, account.group_id) == (
        "Initech",
        "Software",
        "120",
        "g-42",
    )
    user = lead_of(user_id="u1")
    assert members == {user}
    profile = profiles.load(user)
    assert profile is not None
    assert profile.account == "initech.com"


def test_alias_joins_an_anonymous_visitor_and_a_user_id(track, score, new_records, filters, scores):
    call(track, "/v1/page", page_view("anon-7", "/pricing"))
    call(track, "/v1/alias", {"previousId": "anon-7", "userId": "user-7"})
    call(track, "/v1/track", {"userId": "user-7", "event": "Logged In"})
    call(track, "/v1/page", {"userId": "user-7", "context": {"page": {"path": "/blog/a"}}})

    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    [lead] = scores.scores()  # one lead, as sales sees it
    assert lead.lead_id == lead_of("anon-7")
    assert set(lead.contributions) == {"pricing_page", "blog_post"}
    assert lead.events == 3  # the page, the track call and the page: an alias is no behaviour


# --- e-mail pixel and links -----------------------------------------------------------------------------


def _signed(aws: Any, stack: Any, params: dict[str, str]) -> str:
    secret = aws["secretsmanager"].get_secret_value(SecretId=stack.physical_name("LinkSecret"))[
        "SecretString"
    ]
    return links.signed_query(params, secret)


def _get(email_links: Any, path: str, query: str, **headers: str) -> dict[str, Any]:
    event = http_request(f"{path}?{query}", None, method="GET", write_key=None, headers=headers)
    return email_links.lambda_handler(event, CTX)


JANE = email_digest("jane@acme.com")


def test_a_signed_open_pixel_records_an_open_and_is_never_cached(email_links, aws, stack, behaviour):
    response = _get(
        email_links, "/v1/o.gif", _signed(aws, stack, {"e": JANE, "c": "launch"}), **{"user-agent": BROWSER}
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "image/gif"
    assert "no-store" in response["headers"]["Cache-Control"]
    [(lead, event)] = behaviour()
    assert (event.type, event.name) == (EventType.EMAIL_OPEN, "launch")
    assert lead == email_lead(JANE)


def test_an_unsigned_pixel_still_shows_but_records_nothing(email_links, items):
    response = _get(email_links, "/v1/o.gif", urlencode({"e": JANE, "c": "launch"}))

    assert response["statusCode"] == 200
    assert items() == []


def test_a_signed_click_redirects_and_is_recorded(email_links, aws, stack, behaviour):
    query = _signed(aws, stack, {"e": JANE, "c": "launch", "u": "https://www.acme-demo.test/offer?x=1"})

    response = _get(email_links, "/v1/c", query, **{"user-agent": BROWSER})

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://www.acme-demo.test/offer?x=1"
    assert [(lead, event.type) for lead, event in behaviour()] == [(email_lead(JANE), EventType.EMAIL_CLICK)]


@pytest.mark.parametrize("tamper", ["url", "unsigned", "scheme"])
def test_a_tampered_or_unsigned_click_link_gets_a_400_never_a_redirect(
    email_links, aws, stack, items, tamper
):
    good = {"e": JANE, "c": "launch", "u": "https://www.acme-demo.test/offer"}
    if tamper == "url":
        query = _signed(aws, stack, good).replace("www.acme-demo.test", "evil.example")
    elif tamper == "unsigned":
        query = urlencode(good)
    else:
        query = _signed(aws, stack, {**good, "u": "javascript:alert(1)"})

    response = _get(email_links, "/v1/c", query)

    assert response["statusCode"] == 400
    assert "Location" not in response.get("headers", {})
    assert items() == []


# --- what real SDKs and mail clients send (second review) -------------------------------------------------


def test_a_message_repeated_in_one_batch_is_stored_once_and_the_batch_succeeds(track, behaviour):
    view = {"type": "page", **page_view("a", "/", message_id="same")}
    no_id = {"type": "track", "anonymousId": "a", "event": "Clicked"}

    response = call(track, "/v1/batch", {"batch": [view, view, no_id, no_id]})

    assert response["statusCode"] == 200
    assert [event.type for _lead, event in behaviour()] == [EventType.PAGE, EventType.TRACK]


def test_analytics_js_timestamps_are_corrected_for_clock_skew(track, behaviour):
    event = http_request("/v1/page", {})
    received = datetime.fromtimestamp(event["requestContext"]["timeEpoch"] / 1000, UTC)
    device_now = received - timedelta(hours=3)  # this phone's clock is three hours behind
    event["body"] = json.dumps(
        {
            "anonymousId": "a",
            "timestamp": (device_now - timedelta(seconds=5)).isoformat(),
            "sentAt": device_now.isoformat(),
        }
    )

    track.lambda_handler(event, CTX)

    [(_lead, stored)] = behaviour()
    assert abs((stored.at - (received - timedelta(seconds=5))).total_seconds()) < 0.01


@pytest.mark.parametrize(
    "client",
    [
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
    ],
)
def test_opens_through_the_big_mail_clients_are_recorded(email_links, aws, stack, behaviour, client):
    _get(email_links, "/v1/o.gif", _signed(aws, stack, {"e": JANE, "c": "launch"}), **{"user-agent": client})

    assert [event.type for _lead, event in behaviour()] == [EventType.EMAIL_OPEN]


def test_a_signature_with_odd_characters_is_a_400_for_links_and_a_gif_for_pixels(email_links, items):
    query = urlencode({"e": JANE, "c": "launch", "u": "https://www.acme-demo.test/", "s": "ünïcödé"})

    assert _get(email_links, "/v1/c", query)["statusCode"] == 400
    pixel = _get(email_links, "/v1/o.gif", query)
    assert (pixel["statusCode"], pixel["headers"]["Content-Type"]) == (200, "image/gif")
    assert items() == []


def test_the_pixel_is_still_an_image_when_storage_fails(email_links, aws, stack, items):
    with throttled_puts():
        response = _get(email_links, "/v1/o.gif", _signed(aws, stack, {"e": JANE, "c": "launch"}))

    assert (response["statusCode"], response["headers"]["Content-Type"]) == (200, "image/gif")
    assert items() == []  # the open is lost, the image is not


def test_alias_from_an_old_user_id_brings_its_history(track, score, new_records, filters, scores):
    call(track, "/v1/page", {"userId": "old-id", "context": {"page": {"path": "/pricing"}}})
    call(track, "/v1/alias", {"previousId": "old-id", "userId": "new-id"})
    call(track, "/v1/page", {"userId": "new-id", "context": {"page": {"path": "/blog/a"}}})

    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    [lead] = scores.scores()  # one lead, as sales sees it
    assert set(lead.contributions) == {"pricing_page", "blog_post"}
    assert lead.events == 2


def test_long_or_odd_descriptive_values_are_clipped_not_rejected(track, behaviour):
    body = {
        "userId": "u",
        "traits": {"title": "Head of " + "Very " * 100 + "Important Things", "company": "Acme"},
        "context": {"campaign": {"source": "newsletter", "content": 42, "term": None}},
    }

    assert call(track, "/v1/identify", body)["statusCode"] == 200
    page = page_view("a", "/x" * 3000)
    assert call(track, "/v1/page", page)["statusCode"] == 200
    assert len(behaviour()) == 2


def test_a_batch_element_that_is_not_an_object_is_rejected_alone(track, behaviour):
    response = call(track, "/v1/batch", {"batch": ["nonsense", {"type": "page", **page_view("a", "/")}]})

    assert response["statusCode"] == 200
    assert [r["index"] for r in response_json(response)["rejected"]] == [0]
    assert len(behaviour()) == 1


def test_a_message_of_accented_text_is_measured_in_bytes_not_escapes(track, items):
    message = {"type": "track", "anonymousId": "a", "event": "Noted", "properties": {"note": "é" * 12_000}}

    response = call(track, "/v1/batch", {"batch": [message]})  # 24 KB of UTF-8, 72 KB as \\u escapes

    assert response["statusCode"] == 200
    assert response_json(response)["rejected"] == []


def test_a_gzipped_body_is_accepted_and_bad_bytes_are_a_400(track, behaviour):
    import gzip

    event = http_request("/v1/page", None, headers={"content-encoding": "gzip"})
    event["body"] = base64.b64encode(gzip.compress(json.dumps(page_view("a", "/")).encode())).decode()
    event["isBase64Encoded"] = True
    assert track.lambda_handler(event, CTX)["statusCode"] == 200

    broken = http_request("/v1/page", b"\xff\xfe{", content_type="application/octet-stream")
    response = track.lambda_handler(broken, CTX)
    assert response["statusCode"] == 400
    assert "UTF-8" in response_json(response)["error"]
    assert len(behaviour()) == 1


def test_the_snippet_is_served_gzipped_to_browsers_that_accept_it(track):
    import gzip

    from bench.snippet import MINIFIED

    response = track.lambda_handler(
        http_request(
            "/v1/lb.js", None, method="GET", write_key=None, headers={"accept-encoding": "gzip, br"}
        ),
        CTX,
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Encoding"] == "gzip"
    body = gzip.decompress(base64.b64decode(response["body"]))
    assert body.decode() == MINIFIED.read_text()
    assert len(base64.b64decode(response["body"])) < 5 * 1024
