"""The acquisition channel of a visit, from UTM parameters, click ids and the referrer."""

import pytest
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import apply_events
from leadstream.tracking.attribution import Channel, Touch, classify

from tests.unit.builders import day, new_lead, page

OWN_HOST = "www.leadstream.example"


def _channel(
    campaign: dict[str, str] | None = None, query: dict[str, str] | None = None, referrer: str | None = None
) -> Channel:
    return classify(campaign or {}, query or {}, referrer, OWN_HOST, "/").channel


@pytest.mark.parametrize(
    ("campaign", "query", "referrer", "expected"),
    [
        pytest.param({"medium": "cpc", "source": "google"}, {}, None, Channel.PAID_SEARCH, id="utm-cpc"),
        pytest.param({}, {"gclid": "abc"}, "https://www.google.com/", Channel.PAID_SEARCH, id="gclid"),
        pytest.param({}, {"fbclid": "abc"}, None, Channel.PAID_SOCIAL, id="fbclid"),
        pytest.param(
            {"medium": "cpc", "source": "linkedin"}, {}, None, Channel.PAID_SOCIAL, id="utm-cpc-linkedin"
        ),
        pytest.param({}, {}, "https://www.google.com/", Channel.ORGANIC_SEARCH, id="google-referrer"),
        pytest.param(
            {}, {}, "https://www.google.co.uk/search?q=x", Channel.ORGANIC_SEARCH, id="google-co-uk"
        ),
        pytest.param({}, {}, "https://duckduckgo.com/", Channel.ORGANIC_SEARCH, id="duckduckgo"),
        pytest.param(
            {}, {}, "https://www.linkedin.com/feed/", Channel.ORGANIC_SOCIAL, id="linkedin-referrer"
        ),
        pytest.param({}, {}, "https://t.co/xyz", Channel.ORGANIC_SOCIAL, id="twitter-shortener"),
        pytest.param(
            {"medium": "social", "source": "mastodon"}, {}, None, Channel.ORGANIC_SOCIAL, id="utm-social"
        ),
        pytest.param({"medium": "email", "source": "newsletter"}, {}, None, Channel.EMAIL, id="utm-email"),
        pytest.param({"medium": "Email"}, {}, None, Channel.EMAIL, id="utm-email-any-case"),
        pytest.param({}, {}, "https://news.ycombinator.com/item?id=1", Channel.REFERRAL, id="other-site"),
        pytest.param({}, {}, "https://www.leadstream.example/pricing", Channel.DIRECT, id="own-site"),
        pytest.param({}, {}, "https://leadstream.example/", Channel.DIRECT, id="own-site-without-www"),
        pytest.param({}, {}, None, Channel.DIRECT, id="no-referrer"),
    ],
)
def test_given_a_visit_when_classified_then_it_gets_the_expected_channel(
    campaign: dict[str, str], query: dict[str, str], referrer: str | None, expected: Channel
) -> None:
    assert _channel(campaign, query, referrer) is expected


def test_given_utm_email_and_a_click_id_when_classified_then_utm_wins() -> None:
    assert _channel({"medium": "email"}, {"gclid": "abc"}) is Channel.EMAIL


def test_given_an_organic_search_visit_when_classified_then_the_source_is_the_search_engine() -> None:
    touch = classify({}, {}, "https://www.google.de/", OWN_HOST, "/pricing")

    assert touch == Touch(Channel.ORGANIC_SEARCH, source="google", landing_path="/pricing")


def test_given_a_campaign_visit_when_classified_then_source_medium_campaign_and_landing_page_are_kept() -> (
    None
):
    touch = classify({"source": "Google", "medium": "CPC", "name": "spring"}, {}, None, OWN_HOST, "/pricing")

    assert touch == Touch(Channel.PAID_SEARCH, "google", "cpc", "spring", "/pricing")


def test_given_a_touch_when_stored_as_a_dict_and_read_back_then_it_is_unchanged() -> None:
    touch = Touch(Channel.PAID_SOCIAL, "linkedin", "cpc", "spring", "/pricing")

    assert touch.to_dict()["channel"] == "paid social"
    assert Touch.from_dict(touch.to_dict()) == touch
    assert Touch.from_dict(Touch(Channel.DIRECT).to_dict()) == Touch(Channel.DIRECT)


@pytest.mark.parametrize(
    "referrer",
    ["https://l.facebook.com/l.php?u=x", "https://m.facebook.com/", "https://uk.linkedin.com/in/jane"],
)
def test_given_a_referrer_on_a_social_network_subdomain_when_classified_then_it_is_organic_social(
    referrer: str,
) -> None:
    assert _channel(referrer=referrer) is Channel.ORGANIC_SOCIAL


@pytest.mark.parametrize("source", ["producthunt.com", "netflix.com", "g2"])
def test_given_a_utm_source_that_merely_contains_a_social_name_when_classified_then_it_is_not_social(
    source: str,
) -> None:
    touch = classify({"source": source}, {}, None, "www.acme.test", "/")

    assert touch.channel is Channel.REFERRAL


def test_given_a_late_event_from_before_the_first_visit_when_applied_then_its_touch_is_the_first_touch(
    model: ScoringModel,
) -> None:
    ad = Touch(Channel.PAID_SEARCH, "google")
    direct = Touch(Channel.DIRECT)
    lead = apply_events(
        model, new_lead(), [page("/", at=day(0), touch=direct), page("/", at=day(-2), touch=ad)]
    )

    assert lead.first_touch == ad


@pytest.mark.parametrize(
    ("referrer", "channel", "source"),
    [
        ("https://mail.google.com/mail/u/0/", Channel.EMAIL, "mail.google.com"),
        ("https://outlook.live.com/mail/0/inbox", Channel.EMAIL, "outlook.live.com"),
        ("https://search.brave.com/search?q=leads", Channel.ORGANIC_SEARCH, "brave"),
        ("https://www.startpage.com/", Channel.ORGANIC_SEARCH, "startpage"),
        ("https://www.google.co.uk/", Channel.ORGANIC_SEARCH, "google"),
    ],
)
def test_given_webmail_or_other_search_engines_when_classified_then_the_channel_is_right(
    referrer: str, channel: Channel, source: str
) -> None:
    touch = classify({}, {}, referrer, "www.acme.test", "/")

    assert (touch.channel, touch.source) == (channel, source)
