"""TrackFunction as Segment-style SDKs, browsers and e-mail clients meet it: keys, limits, calls, privacy."""

import base64
import contextlib
import json
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from leadstream.identity.identifiers import email_digest, email_lead
from leadstream.platform import aws as aws_clients
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


def test_counting_bots_touches_no_source_or_key_item(track, stack, aws):
    """IAM lets the tracking functions update the counters' partitions only: a count must land there."""
    table = stack.physical_name("SourcesTable")
    before = {(i["pk"]["S"], i["sk"]["S"]) for i in aws["dynamodb"].scan(TableName=table)["Items"]}
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

    call(track, "/v1/page", {**page_view("crawler", "/"), "context": {"userAgent": googlebot}})

    after = {(i["pk"]["S"], i["sk"]["S"]) for i in aws["dynamodb"].scan(TableName=table)["Items"]}
    assert [pk for pk, _sk in after - before] == ["COUNTERS#demo-site"]


def test_bot_counts_kept_before_the_counters_moved_are_still_reported(stack, aws):
    table = stack.physical_name("SourcesTable")
    old = {"pk": {"S": "SOURCE#demo-site"}, "sk": {"S": "BOTS#2026-11-01"}, "hits": {"N": "5"}}
    aws["dynamodb"].put_item(TableName=table, Item=old)
    repository = SourceRepository(table)
    repository.count_bots("demo-site", date(2026, 11, 1), 2)

    assert repository.bot_hits("demo-site") == {"2026-11-01": 7}


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
    """A link signed as `cli links sign` signs it: the recipient ("e", an address here) as its token."""
    secret = aws["secretsmanager"].get_secret_value(SecretId=stack.physical_name("LinkSecret"))[
        "SecretString"
    ]
    if "e" in params:
        params = {**params, "e": links.recipient_token(params["e"], secret)}
    return links.signed_query(params, secret)


def _get(email_links: Any, path: str, query: str, **headers: str) -> dict[str, Any]:
    event = http_request(f"{path}?{query}", None, method="GET", write_key=None, headers=headers)
    return email_links.lambda_handler(event, CTX)


JANE = "jane@acme.com"
JANES_LEAD = email_lead(email_digest(JANE))


def test_a_signed_open_pixel_records_an_open_and_is_never_cached(email_links, aws, stack, behaviour):
    response = _get(
        email_links, "/v1/o.gif", _signed(aws, stack, {"e": JANE, "c": "launch"}), **{"user-agent": BROWSER}
    )

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "image/gif"
    assert "no-store" in response["headers"]["Cache-Control"]
    [(lead, event)] = behaviour()
    assert (event.type, event.name) == (EventType.EMAIL_OPEN, "launch")
    assert lead == JANES_LEAD


def test_an_unsigned_pixel_still_shows_but_records_nothing(email_links, items):
    response = _get(email_links, "/v1/o.gif", urlencode({"e": JANE, "c": "launch"}))

    assert response["statusCode"] == 200
    assert items() == []


def test_a_signed_click_redirects_and_is_recorded(email_links, aws, stack, behaviour):
    query = _signed(aws, stack, {"e": JANE, "c": "launch", "u": "https://www.acme-demo.test/offer?x=1"})

    response = _get(email_links, "/v1/c", query, **{"user-agent": BROWSER})

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://www.acme-demo.test/offer?x=1"
    assert [(lead, event.type) for lead, event in behaviour()] == [(JANES_LEAD, EventType.EMAIL_CLICK)]


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


@pytest.mark.parametrize(
    "wrap", [zlib.compress, lambda data: zlib.compress(data)[2:-4]], ids=["zlib deflate", "raw deflate"]
)
def test_a_deflated_body_is_accepted(track, behaviour, wrap):
    event = http_request("/v1/page", None, headers={"content-encoding": "deflate"})
    event["body"] = base64.b64encode(wrap(json.dumps(page_view("a", "/")).encode())).decode()
    event["isBase64Encoded"] = True

    assert track.lambda_handler(event, CTX)["statusCode"] == 200
    assert len(behaviour()) == 1


def test_an_unknown_content_encoding_is_a_400_naming_what_to_send(track, behaviour):
    event = http_request("/v1/page", page_view("a", "/"), headers={"content-encoding": "br"})

    response = track.lambda_handler(event, CTX)

    assert response["statusCode"] == 400
    assert "gzip, deflate or none" in response_json(response)["error"]
    assert behaviour() == []


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


# --- one bad message never costs a good one (third review) ------------------------------------------------


@contextlib.contextmanager
def dynamodb_fails(fails: Callable[[str, dict[str, Any]], bool]) -> Iterator[list[str]]:
    """DynamoDB answers ThrottlingException to the calls of the functions in this process that
    `fails(operation, parameters)` picks (injected at their one DynamoDB client). Yields the operations
    refused so far."""
    client = aws_clients.client("dynamodb")
    refused: list[str] = []

    def throttle(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        if fails(model.name, params):
            refused.append(model.name)
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, model.name)

    client.meta.events.register("before-parameter-build.dynamodb", throttle)
    try:
        yield refused
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", throttle)


def event_puts(operation: str, params: dict[str, Any]) -> bool:
    return operation == "PutItem" and params["Item"]["sk"]["S"].startswith("EVT#")


def counters(operation: str, params: dict[str, Any]) -> bool:
    return operation == "UpdateItem" and params["TableName"].endswith("SourcesTable")


def raw(path: str, text: str, **kwargs: Any) -> dict[str, Any]:
    """A request whose body is exactly `text` (JSON escapes such as \\ud800 included)."""
    return http_request(path, text, **kwargs)


def rejected(response: dict[str, Any]) -> dict[int, list[str]]:
    return {r["index"]: [d["field"] for d in r["details"]] for r in response_json(response)["rejected"]}


def now_iso(delta: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + delta).isoformat()


GOOD = {"type": "page", **page_view("good", "/pricing", message_id="good-1")}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ('{"type":"page","anonymousId":"a\\ud800","messageId":"b"}', "anonymousId"),
        ('{"type":"page","anonymousId":"a","messageId":"m\\u0000"}', "messageId"),
        (
            '{"type":"page","anonymousId":"a","timestamp":"0001-01-01T00:00:00Z",'
            '"sentAt":"9999-12-31T23:59:59Z"}',
            "timestamp",
        ),
        ('{"type":"page","anonymousId":"a","timestamp":"0001-01-01T00:00:00+05:00"}', "timestamp"),
        ('{"type":"page","anonymousId":"a","properties":' + '{"a":' * 1200 + "1" + "}" * 1201, "properties"),
        ('{"type":"page","anonymousId":"a","properties":' + "[" * 20_000 + "]" * 20_000 + "}", "properties"),
        ('{"type":"page","anonymousId":"a","properties":{"x":NaN}}', "properties"),
        ('{"type":"page","anonymousId":"a","properties":{"x":-Infinity,"y":1e999}}', "properties"),
        ('{"type":"page","anonymousId":"a","properties":{"x":' + "9" * 5000 + "}}", "properties"),
        ('{"type":"page","anonymousId":"a","timestamp":"2001-03-01T10:00:00Z"}', "timestamp"),
    ],
    ids=[
        "surrogate-id",
        "nul-id",
        "overflow",
        "year-zero-in-utc",
        "1200-levels",
        "20000-levels",
        "nan",
        "infinity",
        "5000-digits",
        "back-dated",
    ],
)
def test_a_bad_message_is_rejected_by_index_and_the_good_ones_of_its_batch_are_stored(
    track, behaviour, bad, field
):
    body = '{"batch":[' + json.dumps(GOOD) + "," + bad + "]}"

    response = track.lambda_handler(raw("/v1/batch", body), CTX)

    assert response["statusCode"] == 200
    assert rejected(response) == {1: [field]}
    assert [(lead, event.message_id) for lead, event in behaviour()] == [(lead_of("good"), "good-1")]


@pytest.mark.parametrize(
    "bad",
    [
        '{"anonymousId":"a\\ud800"}',
        '{"anonymousId":"a","timestamp":"0001-01-01T00:00:00Z","sentAt":"9999-12-31T23:59:59Z"}',
        '{"anonymousId":"a","timestamp":"0001-01-01T00:00:00+05:00"}',
        '{"anonymousId":"a","properties":' + '{"a":' * 1200 + "1" + "}" * 1201,
        '{"anonymousId":"a","properties":{"x":NaN}}',
        '{"anonymousId":"a","timestamp":"2001-03-01T10:00:00Z"}',
    ],
    ids=["surrogate-id", "overflow", "year-zero-in-utc", "1200-levels", "nan", "back-dated"],
)
def test_the_same_message_alone_is_a_400_naming_the_problem(track, items, bad):
    response = track.lambda_handler(raw("/v1/page", bad), CTX)

    assert response["statusCode"] == 400
    assert response_json(response)["details"]
    assert items() == []


def test_a_lone_surrogate_or_control_characters_in_descriptive_text_are_removed(track, behaviour):
    body = (
        '{"anonymousId":"a","name":"Pri\\u202ecing\\u0007","context":{"page":{"path":"/\\ud800pricing\\r\\n",'
        '"url":"https://www.acme-demo.test/pricing?utm_source=ad%0d%0awords&utm_medium=cpc"},'
        '"campaign":{"name":"q4\\u0000","content":NaN}}}'
    )

    response = track.lambda_handler(raw("/v1/page", body.replace("NaN", "1")), CTX)

    assert response["statusCode"] == 200
    [(_lead, event)] = behaviour()
    assert (event.name, event.path) == ("Pricing", "/pricing  ")
    assert event.touch is not None
    assert (event.touch.source, event.touch.campaign, event.touch.landing_path) == (
        "ad  words",
        "q4",
        "/pricing  ",
    )


def test_nan_and_infinity_are_refused_never_stored_as_text(track, items):
    body = '{"anonymousId":"a","context":{"campaign":{"name":NaN,"source":Infinity}}}'

    response = track.lambda_handler(raw("/v1/page", body), CTX)

    assert response["statusCode"] == 400
    assert response_json(response)["details"] == [
        {
            "field": "context",
            "problem": "NaN, Infinity and numbers beyond a double's range are not JSON numbers",
        }
    ]
    assert items() == []


def test_names_and_titles_lose_control_and_bidi_characters(track, profiles):
    traits = {"email": "jane@acme.com", "name": "Jane\u202e Doe\x1b[31m", "title": "VP\u2066 Sales\n"}

    assert call(track, "/v1/identify", {"anonymousId": "a", "traits": traits})["statusCode"] == 200

    profile = profiles.load(lead_of("a"))
    assert profile is not None
    assert (profile.name, profile.title) == ("Jane Doe[31m", "VP Sales ")


def test_a_non_ascii_email_domain_is_stored_in_its_idna_form(track, profiles, accounts):
    body = {"anonymousId": "a", "traits": {"email": "Jane@Bücher.de"}}

    assert call(track, "/v1/identify", body)["statusCode"] == 200

    profile = profiles.load(lead_of("a"))
    assert profile is not None
    assert (profile.email, profile.account) == ("jane@xn--bcher-kva.de", "xn--bcher-kva.de")
    assert accounts("xn--bcher-kva.de")[1] == {lead_of("a")}


@pytest.mark.parametrize(
    ("traits", "group_id", "field"),
    [({"domain": "\u0000"}, "\u0000", "groupId"), ({"domain": "acme com"}, "g-1", "traits")],
)
def test_an_account_is_never_created_under_a_key_of_garbage(track, stack, aws, traits, group_id, field):
    response = call(track, "/v1/group", {"userId": "u", "groupId": group_id, "traits": traits})

    assert response["statusCode"] == 400
    assert [d["field"] for d in response_json(response)["details"]] == [field]
    assert aws["dynamodb"].scan(TableName=stack.physical_name("AccountsTable"))["Items"] == []


def test_a_group_names_its_account_by_the_registrable_ascii_domain(track, accounts):
    body = {"userId": "u", "groupId": "g-1", "traits": {"website": "https://www.eu.Bücher.de/", "name": "B"}}

    assert call(track, "/v1/group", body)["statusCode"] == 200

    account, members = accounts("xn--bcher-kva.de")
    assert account is not None
    assert members == {lead_of(user_id="u")}


def test_back_dated_events_are_refused_on_the_live_paths_and_imported_only_with_a_key_allowed_to(
    track, admin, behaviour
):
    old = [
        {
            "type": "page",
            **page_view("v", "/pricing", message_id=f"old-{i}"),
            "timestamp": f"2001-03-0{i}T10:00:00Z",
        }
        for i in (1, 2)
    ]
    live = call(track, "/v1/batch", {"batch": old})
    import_live_key = call(track, "/v1/import", {"batch": old})
    importer = admin.create("Migration", (), Privacy(), datetime.now(UTC), allow_import=True)
    imported = call(track, "/v1/import", {"batch": old}, write_key=importer.write_key)

    assert live["statusCode"] == 400
    assert "/v1/import" in json.dumps(response_json(live)["details"])
    assert import_live_key["statusCode"] == 403
    assert imported["statusCode"] == 200
    stored = [event for _lead, event in behaviour()]
    assert [(e.message_id, e.at.year) for e in stored] == [("old-1", 2001), ("old-2", 2001)]


def test_a_timestamp_a_few_days_old_or_in_the_future_is_taken(track, behaviour):
    event = http_request("/v1/batch", {})
    received = datetime.fromtimestamp(event["requestContext"]["timeEpoch"] / 1000, UTC)
    batch = [
        {"type": "page", **page_view("a", "/", message_id="days"), "timestamp": now_iso(-timedelta(days=6))},
        {
            "type": "page",
            **page_view("a", "/", message_id="ahead"),
            "timestamp": now_iso(timedelta(days=400)),
        },
    ]
    event["body"] = json.dumps({"batch": batch})

    assert track.lambda_handler(event, CTX)["statusCode"] == 200

    times = {e.message_id: e.at for _lead, e in behaviour()}
    assert received - times["days"] == pytest.approx(timedelta(days=6), abs=timedelta(seconds=5))
    assert times["ahead"] == received  # a device clock ahead: the event happened when it was received


def test_a_message_without_message_id_sent_again_later_is_a_second_message(track, behaviour):
    body = {"anonymousId": "a", "event": "Requested Callback"}
    first = http_request("/v1/track", body)
    later = http_request("/v1/track", body)
    later["requestContext"]["timeEpoch"] = first["requestContext"]["timeEpoch"] + 5_000

    for event in (first, first, later):  # the first request twice in one second (a double send), then later
        assert track.lambda_handler(event, CTX)["statusCode"] == 200

    assert len(behaviour()) == 2


def test_a_message_without_message_id_but_with_a_timestamp_is_merged_when_retried(track, behaviour):
    body = {"anonymousId": "a", "event": "Requested Callback", "timestamp": now_iso(), "sentAt": now_iso()}
    retry = {**body, "sentAt": now_iso(timedelta(seconds=30))}  # SDKs set sentAt on every attempt

    call(track, "/v1/track", body)
    call(track, "/v1/track", retry)

    assert len(behaviour()) == 1


def test_an_identify_throttled_at_its_event_says_so_truthfully_and_its_retry_stores_everything_once(
    track, score, new_records, filters, scores, profiles, accounts, behaviour
):
    body = {
        "anonymousId": "phone",
        "messageId": "id-1",
        "traits": {"email": "jane@acme.com", "name": "Jane"},
    }
    call(track, "/v1/identify", {**body, "anonymousId": "laptop", "messageId": "id-0"})

    with dynamodb_fails(event_puts) as refused:
        failed = call(track, "/v1/identify", body)
    retried = call(track, "/v1/identify", body)
    again = call(track, "/v1/identify", body)  # and the SDK's own retry of the answer it did not hear
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    assert refused == ["PutItem"]
    assert failed["statusCode"] == 503
    assert failed["headers"]["Retry-After"] == "1"
    assert "may have been stored" in response_json(failed)["error"]  # the link and the profile were
    assert "nothing was stored" not in failed["body"]
    assert (retried["statusCode"], again["statusCode"]) == (200, 200)
    assert [e.message_id for _lead, e in behaviour()] == ["id-0", "id-1"]
    assert scores.load(lead_of("phone")).merged_into == lead_of("laptop")
    assert scores.load(lead_of("laptop")).score.events == 2
    assert accounts("acme.com")[1] == {lead_of("laptop")}


def test_a_batch_throttled_half_way_says_so_and_its_retry_converges_to_each_message_once(
    track, score, new_records, filters, scores, behaviour
):
    batch = {"batch": [{"type": "page", **page_view("a", f"/p{i}", message_id=f"m-{i}")} for i in range(60)]}
    writes = iter(range(100))

    with dynamodb_fails(lambda op, _p: op == "BatchWriteItem" and next(writes) == 1):
        failed = call(track, "/v1/batch", batch)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    retried = call(track, "/v1/batch", batch)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    assert failed["statusCode"] == 503
    assert "may have been stored" in response_json(failed)["error"]
    assert retried["statusCode"] == 200
    assert sorted(e.message_id for _lead, e in behaviour()) == sorted(f"m-{i}" for i in range(60))
    assert scores.load(lead_of("a")).score.events == 60  # the 25 stored first are not scored twice


def test_a_throttled_bot_counter_never_costs_the_human_events_of_the_batch(track, behaviour):
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    batch = [
        {"type": "page", **page_view("crawler", "/"), "context": {"userAgent": googlebot}},
        {"type": "page", **page_view("person", "/pricing"), "context": {"userAgent": BROWSER}},
    ]

    with dynamodb_fails(counters) as refused:
        response = call(track, "/v1/batch", {"batch": batch})

    assert refused == ["UpdateItem"]
    assert response["statusCode"] == 200
    assert response_json(response)["accepted"] == 2
    assert [lead for lead, _event in behaviour()] == [lead_of("person")]


@pytest.mark.parametrize(
    "key",
    ["lsk_" + "x" * 3000, "lsk_\u00e9t\u00e9", "lsk local", "lsk_\x00", "lsk_\ud800"],
    ids=["3000-bytes", "non-ascii", "space", "nul", "surrogate"],
)
def test_a_key_that_cannot_be_a_key_is_a_401_without_a_look_up(track, items, key):
    body = {**page_view("a", "/"), "writeKey": key}

    with dynamodb_calls() as sent:
        response = call(track, "/v1/page", body, write_key=None)

    assert response["statusCode"] == 401
    assert sent == {}
    assert items() == []


def test_an_authorization_header_that_is_not_basic_auth_is_a_401(track, items):
    response = call(
        track, "/v1/page", page_view("a", "/"), write_key=None, headers={"authorization": "Basic ~~~"}
    )

    assert response["statusCode"] == 401
    assert items() == []


def test_a_gzip_body_with_damaged_data_is_a_400(track, items):
    import gzip

    damaged = bytearray(gzip.compress(json.dumps(page_view("a", "/" + "x" * 500)).encode()))
    for at in range(10, len(damaged) - 8, 7):
        damaged[at] ^= 0xA5
    event = http_request("/v1/page", None, headers={"content-encoding": "gzip"})
    event["body"], event["isBase64Encoded"] = base64.b64encode(bytes(damaged)).decode(), True

    response = track.lambda_handler(event, CTX)

    assert response["statusCode"] == 400
    assert "gzip" in response_json(response)["error"]
    assert items() == []


def test_a_source_cannot_be_given_a_key_that_could_never_authenticate(admin):
    with pytest.raises(ValueError, match="printable ASCII"):
        admin.create("Odd", (SITE,), Privacy(), datetime.now(UTC), key="lsk with spaces")
