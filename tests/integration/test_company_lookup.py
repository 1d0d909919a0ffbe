"""Companies of anonymous visitors: the resolver a tracking function would build from its settings, with
the token in Secrets Manager and the cache in the stack's SourcesTable (moto), against a fake IPinfo served
on loopback. Faults are injected only at the cache's DynamoDB client or by the fake provider itself."""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from leadstream.firmographics.company import Company, CompanyKind
from leadstream.firmographics.resolver import CachedResolver, company_resolver
from leadstream.platform import aws as aws_clients
from leadstream.platform.settings import IngestSettings

from tests.fakes.ipinfo import FakeIpinfo

TOKEN = "ipinfo-test-token"
SECRET = "leadstream/company-lookup"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": {
        "asn": {"asn": "AS20712", "name": "Andrews & Arnold Ltd", "domain": "aa.net.uk", "type": "isp"},
        "company": {"name": "Acme  Widgets\nLtd", "domain": "www.eu.acme.co.uk", "type": "business"},
        "privacy": {"vpn": False, "proxy": False, "tor": False, "relay": False, "hosting": False},
    },
    "2a02:8070:ab00::/48": {"company": {"name": "Bücher", "domain": "bücher.de", "type": "business"}},
    "84.17.32.0/24": {"company": {"name": "Deutsche Telekom", "domain": "telekom.de", "type": "isp"}},
    "3.120.0.0/24": {
        "company": {"name": "Amazon.com, Inc.", "domain": "amazon.com", "type": "hosting"},
        "privacy": {"vpn": False, "proxy": False, "tor": False, "relay": False, "hosting": True},
    },
    # a VPN's exit range is registered to a business: the privacy flag wins
    "152.34.212.0/24": {
        "company": {"name": "TEFINCOM S.A.", "domain": "nordvpn.com", "type": "business"},
        "privacy": {"vpn": True, "proxy": False, "tor": False, "relay": False, "hosting": True},
    },
    "66.87.125.0/24": {
        "company": {"name": "Sprint Springfield POP", "domain": "sprint.com", "type": "isp"},
        "carrier": {"name": "Sprint Corporation", "mcc": "310", "mnc": "120"},
    },
    "18.10.0.0/24": {"company": {"name": "MIT", "domain": "mit.edu", "type": "education"}},
}
ACME_VISITOR = "81.2.69.77"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ipinfo() -> Iterator[FakeIpinfo]:
    fake = FakeIpinfo(TOKEN, NETWORKS)
    yield fake
    fake.stop()


@pytest.fixture
def settings(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> IngestSettings:
    """The tracking functions' settings with the feature on: the token stored under COMPANY_LOOKUP_SECRET."""
    aws["secretsmanager"].create_secret(Name=SECRET, SecretString=TOKEN)
    monkeypatch.setenv("COMPANY_LOOKUP_SECRET", SECRET)
    return IngestSettings.from_env()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def container(settings: IngestSettings, ipinfo: FakeIpinfo, clock: Clock) -> Callable[[], CachedResolver]:
    """A new container's resolver (empty memory, the same cache table), as a tracking function builds it."""

    def start() -> CachedResolver:
        resolver = company_resolver(
            settings.company_lookup_secret, settings.sources_table, base_url=ipinfo.url, clock=clock
        )
        assert resolver is not None
        return resolver

    return start


@contextlib.contextmanager
def cache_throttled() -> Iterator[None]:
    """DynamoDB answers every GetItem and PutItem of this process with ThrottlingException."""
    client = aws_clients.client("dynamodb")

    def throttle(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    for operation in ("GetItem", "PutItem"):
        client.meta.events.register(f"before-call.dynamodb.{operation}", throttle)
    try:
        yield
    finally:
        for operation in ("GetItem", "PutItem"):
            client.meta.events.unregister(f"before-call.dynamodb.{operation}", throttle)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the records carry (message and structured fields), whatever a handler would print."""
    return "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)


# --- what a network says -----------------------------------------------------------------------------------


def test_a_business_network_names_its_company_by_the_registrable_domain(container, ipinfo):
    company = container().resolve(ACME_VISITOR)

    assert company == Company(CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd")
    assert company.creates_account
    assert ipinfo.asked == ["81.2.69.0"], "the provider is asked about the network, not the visitor"


def test_an_ipv6_business_is_looked_up_by_its_48_and_named_in_ascii(container, ipinfo):
    company = container().resolve("2a02:8070:ab00:17:9c1a::42")

    assert company == Company(CompanyKind.BUSINESS, "xn--bcher-kva.de", "Bücher")
    assert ipinfo.asked == ["2a02:8070:ab00::"]


@pytest.mark.parametrize(
    ("visitor", "kind"),
    [
        ("84.17.32.9", CompanyKind.ISP),
        ("3.120.0.200", CompanyKind.HOSTING),
        ("152.34.212.1", CompanyKind.VPN),
        ("66.87.125.72", CompanyKind.MOBILE),
        ("18.10.0.33", CompanyKind.EDUCATION),
    ],
)
def test_isp_hosting_vpn_mobile_and_campus_networks_create_no_account(container, visitor, kind):
    company = container().resolve(visitor)

    assert company == Company(kind)  # the kind only: no domain or name is kept
    assert not company.creates_account


def test_a_network_the_provider_names_nobody_for_creates_no_account(container, ipinfo):
    company = container().resolve("95.90.1.2")

    assert company == Company(CompanyKind.UNKNOWN)
    assert not company.creates_account
    assert ipinfo.asked == ["95.90.1.0"]


@pytest.mark.parametrize("visitor", ["10.1.2.3", "192.168.0.7", "127.0.0.1", "fe80::1%eth0", "not an ip", ""])
def test_a_private_or_invalid_address_is_never_looked_up(container, ipinfo, visitor):
    assert container().resolve(visitor) is None
    assert ipinfo.asked == []


# --- one lookup per network ---------------------------------------------------------------------------------


def test_a_hundred_visitors_of_one_network_cost_one_lookup_in_any_container(container, ipinfo):
    first = container()
    answers = {first.resolve(f"81.2.69.{host}") for host in range(1, 101)}
    later = container().resolve("81.2.69.250")  # another container: its memory is empty, the table is not

    assert answers == {later}
    assert later == Company(CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd")
    assert ipinfo.asked == ["81.2.69.0"]


def test_a_company_is_kept_thirty_days_and_nobody_a_day(container, ipinfo, clock):
    container().resolve(ACME_VISITOR)
    container().resolve("95.90.1.2")

    clock.now = T0 + timedelta(hours=23)
    container().resolve(ACME_VISITOR)
    container().resolve("95.90.1.2")
    assert ipinfo.asked == ["81.2.69.0", "95.90.1.0"]

    clock.now = T0 + timedelta(days=2)
    container().resolve(ACME_VISITOR)
    container().resolve("95.90.1.2")
    assert ipinfo.asked == ["81.2.69.0", "95.90.1.0", "95.90.1.0"]

    clock.now = T0 + timedelta(days=31)
    assert container().resolve(ACME_VISITOR) == Company(
        CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd"
    )
    assert ipinfo.asked == ["81.2.69.0", "95.90.1.0", "95.90.1.0", "81.2.69.0"]


# --- faults: unknown, quickly, never an exception ---------------------------------------------------


def test_a_slow_provider_is_unknown_within_the_timeout_and_not_waited_on_again_for_a_minute(
    container, ipinfo, clock
):
    ipinfo.delay = 2.0
    resolver = container()

    started = time.monotonic()
    first = resolver.resolve(ACME_VISITOR)
    second = resolver.resolve("81.2.69.78")
    waited = time.monotonic() - started

    assert (first, second) == (None, None)
    assert waited < 1.0
    assert ipinfo.asked == ["81.2.69.0"]

    ipinfo.delay = 0
    clock.now = T0 + timedelta(minutes=2)
    assert resolver.resolve(ACME_VISITOR) == Company(CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd")


def test_a_failing_provider_is_unknown_and_its_failure_is_not_cached(container, ipinfo):
    ipinfo.status = 500
    assert container().resolve(ACME_VISITOR) is None

    ipinfo.status = 200
    assert container().resolve(ACME_VISITOR) == Company(
        CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd"
    )
    assert ipinfo.asked == ["81.2.69.0", "81.2.69.0"]


def test_an_unreachable_provider_is_unknown(container, ipinfo):
    resolver = container()
    ipinfo.stop()

    started = time.monotonic()
    assert resolver.resolve(ACME_VISITOR) is None
    assert time.monotonic() - started < 1.0


def test_a_token_missing_from_secrets_manager_is_unknown(settings, ipinfo, aws):
    aws["secretsmanager"].delete_secret(SecretId=SECRET, ForceDeleteWithoutRecovery=True)
    resolver = company_resolver(settings.company_lookup_secret, settings.sources_table, base_url=ipinfo.url)

    assert resolver is not None
    assert resolver.resolve(ACME_VISITOR) is None
    assert ipinfo.asked == []


def test_a_wrong_token_is_unknown(settings, ipinfo, aws):
    aws["secretsmanager"].put_secret_value(SecretId=SECRET, SecretString="revoked")
    resolver = company_resolver(settings.company_lookup_secret, settings.sources_table, base_url=ipinfo.url)

    assert resolver is not None
    assert resolver.resolve(ACME_VISITOR) is None
    assert ipinfo.asked == ["81.2.69.0"]  # the fake refused it (403), as IPinfo refuses an unknown token


def test_a_throttled_cache_table_still_answers(container, ipinfo):
    with cache_throttled():
        resolver = container()
        answers = {resolver.resolve(f"81.2.69.{host}") for host in (1, 2, 3)}

    assert answers == {Company(CompanyKind.BUSINESS, "acme.co.uk", "Acme Widgets Ltd")}
    assert ipinfo.asked == ["81.2.69.0"]  # the container's memory still spares the provider


def test_no_address_or_network_is_ever_logged(container, ipinfo, caplog):
    caplog.set_level(logging.INFO)
    ipinfo.delay = 2.0
    container().resolve(ACME_VISITOR)
    ipinfo.delay, ipinfo.status = 0, 500
    container().resolve("84.17.32.9")
    ipinfo.status = 200
    with cache_throttled():
        container().resolve("66.87.125.72")
    ipinfo.stop()
    container().resolve("2a02:8070:ab00:17:9c1a::42")

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("company lookup failed") == 3  # slow, failing, down
    assert "network company cache unreadable" in messages
    assert "network company not cached" in messages
    text = logged(caplog)
    for part in ("81.2.69", "84.17.32", "2a02:8070", "66.87.125"):
        assert part not in text


# --- off unless configured ---------------------------------------------------------------------------------


@pytest.mark.parametrize("configured", [None, ""])
def test_without_a_token_secret_there_are_no_company_lookups(aws, monkeypatch, configured):
    if configured is None:
        monkeypatch.delenv("COMPANY_LOOKUP_SECRET", raising=False)
    else:
        monkeypatch.setenv("COMPANY_LOOKUP_SECRET", configured)
    settings = IngestSettings.from_env()

    assert settings.company_lookup_secret is None
    assert company_resolver(settings.company_lookup_secret, settings.sources_table) is None
