"""Sessions and touches on a lead; IP anonymisation, link signatures and origin checks of sources."""

from dataclasses import replace
from datetime import timedelta

import pytest
from leadstream.identity.identifiers import email_digest
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import apply_events
from leadstream.sources.model import IpMode, Source, SourceStatus, anonymise_ip
from leadstream.tracking import email_links as links
from leadstream.tracking.attribution import Channel, Touch
from leadstream.tracking.events import BehaviourEvent, EventType

from tests.unit.builders import T0, identify, new_lead, page, track

AD = Touch(Channel.PAID_SEARCH, "google", "cpc", "brand")
DIRECT = Touch(Channel.DIRECT)
NEWSLETTER = Touch(Channel.EMAIL, "newsletter", "email", "nov")


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_given_page_views_less_than_30_minutes_apart_then_they_are_one_session(model: ScoringModel) -> None:
    lead = apply_events(
        model,
        new_lead(),
        [page("/", at=T0), page("/a", at=T0 + minutes(29)), page("/b", at=T0 + minutes(58))],
    )

    assert (lead.page_views, lead.sessions) == (3, 1)


def test_given_31_minutes_without_activity_then_a_new_session_starts(model: ScoringModel) -> None:
    lead = apply_events(model, new_lead(), [page("/", at=T0), page("/a", at=T0 + minutes(31))])

    assert (lead.page_views, lead.sessions) == (2, 2)


def test_given_other_events_then_they_neither_start_nor_extend_a_session(model: ScoringModel) -> None:
    lead = apply_events(
        model,
        new_lead(),
        [page("/", at=T0), track("Invoice Paid", at=T0 + minutes(20)), page("/a", at=T0 + minutes(45))],
    )

    assert (lead.page_views, lead.sessions, lead.events) == (2, 2, 3)


def test_given_a_lead_first_seen_through_an_identify_then_its_first_page_view_is_a_session(
    model: ScoringModel,
) -> None:
    lead = apply_events(
        model, new_lead(), [identify(email_kind="work"), page("/", at=T0 + minutes(1), touch=AD)]
    )

    assert lead.sessions == 1
    assert lead.last_touch == AD


def test_given_an_email_click_just_before_its_landing_page_then_the_email_is_the_latest_touch(
    model: ScoringModel,
) -> None:
    click = BehaviourEvent("c1", EventType.EMAIL_CLICK, T0 + timedelta(days=3), touch=NEWSLETTER)
    lead = apply_events(
        model,
        new_lead(),
        [
            page("/", at=T0, touch=AD),
            click,
            page("/offer", at=T0 + timedelta(days=3, seconds=2), touch=DIRECT),
        ],
    )

    assert lead.last_touch == NEWSLETTER
    assert lead.sessions == 2


def test_given_sessions_from_several_channels_then_first_and_last_non_direct_touch_are_kept(
    model: ScoringModel,
) -> None:
    lead = apply_events(
        model,
        new_lead(),
        [
            page("/", at=T0, touch=AD),
            page("/", at=T0 + timedelta(days=2), touch=NEWSLETTER),
            page("/", at=T0 + timedelta(days=4), touch=DIRECT),  # typed the address: not a source
        ],
    )

    assert lead.first_touch == AD
    assert lead.last_touch == NEWSLETTER
    assert lead.sessions == 3


@pytest.mark.parametrize(
    ("ip", "mode", "expected"),
    [
        ("203.0.113.77", IpMode.TRUNCATE, "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", IpMode.TRUNCATE, "2001:db8:abcd::"),
        ("203.0.113.77", IpMode.DROP, None),
        ("not an ip", IpMode.TRUNCATE, None),
        (None, IpMode.TRUNCATE, None),
    ],
)
def test_given_an_ip_when_anonymised_then_the_visitor_cannot_be_read_back(
    ip: str | None, mode: IpMode, expected: str | None
) -> None:
    assert anonymise_ip(ip, mode, "salt") == expected


def test_given_a_hashed_ip_then_it_is_stable_per_source_and_differs_between_sources() -> None:
    first = anonymise_ip("203.0.113.77", IpMode.HASH, "salt-a")

    assert first == anonymise_ip("203.0.113.77", IpMode.HASH, "salt-a")
    assert first != anonymise_ip("203.0.113.77", IpMode.HASH, "salt-b")
    assert first != anonymise_ip("203.0.113.78", IpMode.HASH, "salt-a")
    assert "203" not in (first or "")


def test_given_signed_link_parameters_then_any_change_breaks_the_signature() -> None:
    params = {"u": "https://www.example.com/offer", "e": "abc", "c": "launch"}
    query = dict(part.split("=", 1) for part in links.signed_query(params, "secret").split("&"))
    signed = {**params, "s": query["s"]}

    assert links.verify(signed, "secret")
    assert not links.verify({**signed, "u": "https://evil.example/"}, "secret")
    assert not links.verify({**signed, "c": "other"}, "secret")
    assert not links.verify(signed, "another secret")
    assert not links.verify(params, "secret")  # unsigned


def test_given_a_recipient_token_then_only_the_stacks_secret_reads_it() -> None:
    token = links.recipient_token("Jane@Acme.com", "secret")

    assert links.recipient_digest(token, "secret") == email_digest("jane@acme.com")
    assert token == links.recipient_token("jane@acme.com", "secret")  # stable across a campaign's links
    assert email_digest("jane@acme.com") not in token
    assert links.recipient_token("jane@acme.com", "another secret") != token
    assert links.recipient_digest(token, "another secret") is None
    assert links.recipient_digest(links.recipient_token("john@acme.com", "secret"), "secret") != (
        email_digest("jane@acme.com")
    )


@pytest.mark.parametrize("token", ["", "x", "%%%", "ü" * 38, "A" * 38, "A" * 60])
def test_given_a_token_the_secret_did_not_make_then_it_names_nobody(token: str) -> None:
    assert links.recipient_digest(token, "secret") is None


def test_given_a_token_changed_in_one_character_then_it_names_nobody() -> None:
    token = links.recipient_token("jane@acme.com", "secret")

    for i in range(len(token)):
        changed = token[:i] + ("B" if token[i] != "B" else "C") + token[i + 1 :]
        assert links.recipient_digest(changed, "secret") is None


def test_given_a_link_signed_before_tokens_then_its_bare_digest_still_names_the_recipient() -> None:
    digest = email_digest("jane@acme.com")

    assert links.recipient_digest(digest, "secret") == digest


def test_given_a_source_then_only_its_origins_may_send_from_a_browser() -> None:
    source = Source("s", "Site", ("https://www.example.com",))

    assert source.allows_origin("https://www.example.com")
    assert source.allows_origin("https://www.example.com/")
    assert not source.allows_origin("https://evil.example")
    assert source.allows_origin(None)  # servers and SDKs outside a browser send no Origin
    assert not Source("s", "Server only").allows_origin("https://www.example.com")


def test_given_a_source_then_preflights_pass_for_its_origins_only_while_it_is_active() -> None:
    source = Source("s", "Site", ("https://www.example.com", "https://shop.example.com"))

    assert source.preflight_origins == {"https://www.example.com", "https://shop.example.com"}
    assert replace(source, status=SourceStatus.DISABLED).preflight_origins == frozenset()
    assert Source("s", "Server only").preflight_origins == frozenset()
