"""What the API takes in, and how: text, identifiers, times, JSON shapes, redirect targets, keys, domains."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from leadstream.identity.identifiers import account_domain, email_digest, normalise_email
from leadstream.platform.errors import BadRequest
from leadstream.platform.http import browser_origin, check_json, json_object, location
from leadstream.sources.model import IpMode, Source, anonymise_ip, plausible_write_key
from leadstream.tracking.forms import thank_you_url
from leadstream.tracking.intake import check_time
from leadstream.tracking.segment import FormSubmission, Message, clean_text
from pydantic import ValidationError

RECEIVED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
SITE = Source("s", "Site", ("https://www.acme.test",))


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in exc.value.errors()]


# --- text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Jane Doe", "Jane Doe"),
        ("Jane\u202e Doe", "Jane Doe"),  # right-to-left override
        ("/\ud800pricing", "/pricing"),  # an unpaired surrogate (JSON "\ud800")
        ("VP\r\nSales\t", "VP  Sales "),  # breaks become spaces
        ("\x1b[31mred\x9b", "[31mred"),  # C0 and C1 controls
        ("\u2066isolate\u2069 \u200fmark", "isolate mark"),
        ("Zoë 😀 \u200d", "Zoë 😀 \u200d"),  # letters, emoji and joiners are text
    ],
)
def test_descriptive_text_loses_controls_bidi_and_surrogates(given: str, kept: str) -> None:
    assert clean_text(given) == kept


def test_descriptive_fields_are_cleaned_then_clipped() -> None:
    message = Message.model_validate(
        {"type": "track", "anonymousId": "a", "event": "\x00" * 10 + "x" * 300, "traits": {"name": "J\x00o"}}
    )

    assert message.event == "x" * 200
    assert message.traits.name == "Jo"


def test_an_event_name_of_nothing_but_controls_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        Message.model_validate({"type": "track", "anonymousId": "a", "event": "\x00\x01"})

    assert fields_of(refused) == ["event"]


@pytest.mark.parametrize("field", ["anonymousId", "userId", "messageId", "previousId", "groupId"])
@pytest.mark.parametrize("bad", ["a\ud800", "a\x00", "a\r\nb", "a\u202eb"])
def test_an_identifier_with_unsafe_characters_is_refused_naming_it(field: str, bad: str) -> None:
    body = {"type": "alias", "userId": "u", "previousId": "p", "groupId": "g", "anonymousId": "a"}

    with pytest.raises(ValidationError) as refused:
        Message.model_validate({**body, field: bad})

    assert fields_of(refused) == [field]


def test_a_forms_next_with_a_line_break_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as refused:
        FormSubmission.model_validate(
            {"email": "jane@acme.com", "_next": "https://x.test/\r\nSet-Cookie: a=1"}
        )

    assert fields_of(refused) == ["_next"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Jane@Bücher.de", "Jane@xn--bcher-kva.de"),
        ("jane@ACME.com", "jane@acme.com"),
        ("jäne@bücher.de", "jäne@xn--bcher-kva.de"),
    ],
)
def test_an_email_domain_is_kept_in_its_ascii_form(given: str, stored: str) -> None:
    identify = Message.model_validate({"type": "identify", "userId": "u", "traits": {"email": given}})

    assert identify.traits.email == stored


def test_an_email_is_one_identity_however_its_domain_is_written() -> None:
    assert (
        normalise_email(" Jane@Bücher.DE ")
        == normalise_email("jane@xn--bcher-kva.de")
        == "jane@xn--bcher-kva.de"
    )
    assert email_digest("jane@bücher.de") == email_digest("JANE@XN--BCHER-KVA.DE")


# --- accounts and keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("www.eu.Acme.co.uk", "acme.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("initech.com.", "initech.com"),
        ("initech", "initech"),
    ],
)
def test_an_account_is_named_by_its_registrable_ascii_domain(name: str, key: str) -> None:
    assert account_domain(name) == key


@pytest.mark.parametrize("name", ["", "   ", "\x00", "acme com", "ac\u202eme.com", "x\ud800.com", "a/b.com"])
def test_a_name_that_is_no_domain_is_refused_as_an_account(name: str) -> None:
    with pytest.raises(ValueError, match="organisation"):
        account_domain(name)


def test_a_group_call_names_its_account_or_is_refused() -> None:
    group = {"type": "group", "userId": "u", "groupId": "g-42"}

    by_site = Message.model_validate({**group, "traits": {"website": "https://www.Initech.com/about"}})
    by_id = Message.model_validate(group)
    with pytest.raises(ValidationError) as refused:
        Message.model_validate({**group, "traits": {"domain": "not a domain"}})

    assert (by_site.account(), by_id.account()) == ("initech.com", "g-42")
    assert fields_of(refused) == ["traits"]


@pytest.mark.parametrize(
    ("key", "plausible"),
    [
        ("lsk_abc123-_", True),
        ("x" * 256, True),
        ("x" * 257, False),
        ("", False),
        ("lsk key", False),
        ("lsk_é", False),
        ("lsk_\x00", False),
        ("lsk_\ud800", False),
    ],
)
def test_a_write_key_is_printable_ascii_of_a_sane_length(key: str, plausible: bool) -> None:
    assert plausible_write_key(key) is plausible


def test_an_ipv6_zone_is_never_kept() -> None:
    assert anonymise_ip("fe80::1%eth0/x\u202e", IpMode.TRUNCATE, "salt") == "fe80::"


# --- times ---------------------------------------------------------------------------------------------


def message(**times: str) -> Message:
    return Message.model_validate({"type": "page", "anonymousId": "a", **times})


def test_a_timestamp_is_kept_in_utc() -> None:
    stamp = message(timestamp="2026-11-24T10:30:00+01:00").timestamp

    assert stamp == RECEIVED
    assert stamp is not None
    assert stamp.tzinfo is UTC


def test_a_timestamp_utc_cannot_hold_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        message(timestamp="0001-01-01T00:00:00+05:00")

    assert fields_of(refused) == ["timestamp"]


def test_a_clock_correction_that_leaves_the_calendar_is_a_400_naming_the_field() -> None:
    sent = message(timestamp="0001-01-01T00:00:00Z", sentAt="9999-12-31T23:59:59Z")

    with pytest.raises(BadRequest) as refused:
        check_time(sent, RECEIVED, history=True)

    assert refused.value.details[0]["field"] == "timestamp"


@pytest.mark.parametrize(
    ("age", "history", "taken"),
    [
        (timedelta(days=6, hours=23), False, True),
        (timedelta(days=7, seconds=1), False, False),
        (timedelta(days=9000), True, True),
        (-timedelta(days=400), False, True),  # ahead of the receipt: taken as the receipt
    ],
)
def test_the_live_endpoints_take_a_week_of_history_and_import_any(
    age: timedelta, history: bool, taken: bool
) -> None:
    sent = message(originalTimestamp=(RECEIVED - age).isoformat())

    if taken:
        check_time(sent, RECEIVED, history=history)
        assert sent.occurred_at(RECEIVED) == min(RECEIVED - age, RECEIVED)
    else:
        with pytest.raises(BadRequest, match="/v1/import") as refused:
            check_time(sent, RECEIVED, history=history)
        assert refused.value.details[0]["field"] == "originalTimestamp"


def test_an_import_takes_nothing_before_1970() -> None:
    with pytest.raises(BadRequest, match="1970"):
        check_time(message(timestamp="1969-12-31T23:59:59Z"), RECEIVED, history=True)


def test_group_and_alias_calls_store_no_event_and_may_be_old() -> None:
    old = Message.model_validate(
        {"type": "alias", "userId": "u", "previousId": "p", "timestamp": "2001-01-01T00:00:00Z"}
    )

    check_time(old, RECEIVED, history=False)


# --- JSON ----------------------------------------------------------------------------------------------


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"properties":' + nested(40) + "}", "properties"),
        ('{"x":NaN}', "x"),
        ('{"x":[1,Infinity]}', "x"),
        ('{"x":{"y":-1e999}}', "x"),
        ('{"x":' + "1" * 5000 + "}", "x"),
        ('{"p":' + "[" * 30_000 + "]" * 30_000 + "}", "p"),
    ],
    ids=["40-levels", "nan", "infinity", "1e999", "5000-digits", "30000-levels"],
)
def test_json_no_message_needs_is_refused_naming_its_field(text: str, field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        json_object(text, max_depth=32)

    assert [d["field"] for d in refused.value.details] == [field]


def test_a_batch_too_deep_for_the_parser_still_parses_with_that_part_cut() -> None:
    deep = "[" * 30_000 + "]" * 30_000
    text = '{"batch":[{"a":"[{\\"]"},' + deep + ',{"b":[1,{"c":"}"}]}]}'

    batch = json_object(text)["batch"]

    assert batch[0] == {"a": '[{"]'}
    assert batch[2] == {"b": [1, {"c": "}"}]}
    with pytest.raises(BadRequest, match="deeper"):
        check_json({"m": batch[1]}, 32)


def test_json_of_a_sane_depth_with_finite_numbers_passes() -> None:
    value = json.loads('{"a":' + nested(30) + ',"n":[1.5,-2,1e308,' + "9" * 4000 + "]}")

    check_json(value, 32)


# --- redirects -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("https://www.acme.test/thanks", "https://www.acme.test/thanks"),
        ("HTTPS://WWW.Acme.test:8443/a b?q=<x>#f", "https://www.acme.test:8443/a%20b?q=%3Cx%3E#f"),
        ('https://www.acme.test/"x"\x7f', "https://www.acme.test/%22x%22%7F"),
        ("https://bücher.de/ü", "https://xn--bcher-kva.de/%C3%BC"),
        ("http://[::1]:3000/x", "http://[::1]:3000/x"),
    ],
)
def test_a_location_is_the_url_written_again_with_nothing_raw(url: str, header: str) -> None:
    assert location(url) == header


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://user:pw@www.acme.test/", "http://[oops/", "//www.acme.test/x", ""]
)
def test_a_location_must_be_a_plain_http_url(url: str) -> None:
    with pytest.raises(BadRequest):
        location(url)


def test_a_thank_you_url_on_the_site_is_written_again_and_a_foreign_one_refused() -> None:
    assert (
        thank_you_url("/thanks?x=a b", "https://www.acme.test/form", SITE)
        == "https://www.acme.test/thanks?x=a%20b"
    )
    with pytest.raises(BadRequest, match="allowed origin"):
        thank_you_url("https://evil.example/", "https://www.acme.test/form", SITE)
    with pytest.raises(BadRequest, match="user name"):
        thank_you_url("https://www.acme.test@evil.example/", None, SITE)


# --- origins ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["https://www.acme.test", "http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:3000"],
)
def test_a_websites_origin_as_browsers_send_it_is_one(origin: str) -> None:
    assert browser_origin(origin) == origin


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",  # sandboxed frames, files
        "file://",
        "chrome-extension://abcdef",
        "https://www.acme.test/",  # a path: not an origin
        "https://WWW.acme.test",  # browsers send the host in lower case
        "https://www.acme.test\r\nSet-Cookie: a=1",
        "https://*.acme.test",
        "https://" + "a" * 300 + ".test",  # longer than any host name
    ],
)
def test_anything_else_is_no_websites_origin(origin: str | None) -> None:
    assert browser_origin(origin) is None
