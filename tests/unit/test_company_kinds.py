"""Which networks name an account, and by which domain (pure: the value, the network, IPinfo's answers)."""

import pytest
from leadstream.firmographics.company import Company, CompanyKind, network
from leadstream.firmographics.ipinfo import company_of


@pytest.mark.parametrize(
    ("domain", "account"),
    [
        ("www.eu.acme.co.uk", "acme.co.uk"),
        ("ACME.com.", "acme.com"),
        ("bücher.de", "xn--bcher-kva.de"),
    ],
)
def test_a_business_is_named_by_its_registrable_ascii_domain(domain, account):
    company = Company.found(CompanyKind.BUSINESS, domain, "  Acme\n Ltd ")

    assert company == Company(CompanyKind.BUSINESS, account, "Acme Ltd")
    assert company.creates_account


@pytest.mark.parametrize("domain", [None, "", "localhost", "acme com", "jane@acme.com"])
def test_a_business_without_a_usable_domain_names_no_account(domain):
    company = Company.found(CompanyKind.BUSINESS, domain, "Acme")

    assert company == Company(CompanyKind.UNKNOWN)
    assert not company.creates_account


@pytest.mark.parametrize("kind", [k for k in CompanyKind if k is not CompanyKind.BUSINESS])
def test_only_a_business_creates_an_account_and_the_others_keep_nothing_but_their_kind(kind):
    company = Company.found(kind, "telekom.de", "Deutsche Telekom")

    assert company == Company(kind)
    assert not company.creates_account


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [
        ("81.2.69.77", "81.2.69.0/24"),
        (" 81.2.69.1 ", "81.2.69.0/24"),
        ("2a02:8070:ab00:17:9c1a::42", "2a02:8070:ab00::/48"),
        ("2a02:8070:ab00:17::1%eth0", "2a02:8070:ab00::/48"),
    ],
)
def test_a_visitor_is_looked_up_by_the_network_its_stored_address_is_truncated_to(ip, prefix):
    assert network(ip) == prefix


@pytest.mark.parametrize(
    "ip", [None, "", "nonsense", "10.0.0.1", "192.168.1.1", "127.0.0.1", "203.0.113.9", "2001:db8::1", "::1"]
)
def test_no_network_for_an_address_that_is_not_public(ip):
    assert network(ip) is None


# IPinfo's documented answers (see firmographics/ipinfo.py)
SPRINT = {
    "ip": "66.87.125.72",
    "asn": {"asn": "AS10507", "domain": "spcsdns.net", "route": "66.87.125.0/24", "type": "isp"},
    "company": {"name": "Sprint Springfield POP", "domain": "sprint.com", "type": "isp"},
    "carrier": {"name": "Sprint Corporation", "mcc": "310", "mnc": "120"},
}
NORDVPN = {
    "ip": "152.34.212.1",
    "asn": {"asn": "AS36351", "domain": "softlayer.com", "type": "hosting"},
    "company": {"name": "TEFINCOM S.A.", "domain": "nordvpn.com", "type": "business"},
    "privacy": {"vpn": True, "proxy": False, "tor": False, "relay": False, "hosting": False, "service": ""},
}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (SPRINT, Company(CompanyKind.MOBILE)),
        (NORDVPN, Company(CompanyKind.VPN)),
        ({"ip": "1.1.1.1", "privacy": {"relay": True}}, Company(CompanyKind.VPN)),
        ({"ip": "1.1.1.1", "privacy": {"tor": True}}, Company(CompanyKind.VPN)),
        (
            {
                "ip": "1.1.1.1",
                "privacy": {"hosting": True},
                "company": {"type": "business", "domain": "a.com"},
            },
            Company(CompanyKind.HOSTING),
        ),
        ({"ip": "10.0.0.1", "bogon": True}, Company(CompanyKind.UNKNOWN)),
        ({"ip": "1.1.1.1"}, Company(CompanyKind.UNKNOWN)),
        (
            {"ip": "1.1.1.1", "company": {"name": "X", "domain": "x.com", "type": "government"}},
            Company(CompanyKind.UNKNOWN),
        ),
        # a token whose plan has no company data: the ASN's owner is the next best answer
        (
            {"ip": "1.1.1.1", "asn": {"name": "Acme", "domain": "acme.com", "type": "business"}},
            Company(CompanyKind.BUSINESS, "acme.com", "Acme"),
        ),
        ({"ip": "1.1.1.1", "company": "Acme", "privacy": None}, Company(CompanyKind.UNKNOWN)),
    ],
)
def test_what_an_ipinfo_answer_says_of_its_network(answer, expected):
    assert company_of(answer) == expected
