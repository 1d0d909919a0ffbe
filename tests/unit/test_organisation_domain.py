"""An e-mail's organisation is its registrable domain, exactly as the whole Public Suffix List says, in
its ASCII (IDNA) form: an account key is one spelling of a domain."""

import pytest
from leadstream.identity.identifiers import ascii_domain, organisation_domain
from publicsuffixlist import PublicSuffixList

DOMAINS = [
    "acme.com",
    "eu.acme.co.uk",
    "mail.example.co.jp",
    "a.b.github.io",  # private section
    "foo.blogspot.com",
    "city.kawasaki.jp",  # an exception to a wildcard
    "x.kawasaki.jp",  # the wildcard itself
    "a.b.c.ck",
    "www.ck",
    "a.b.pvt.k12.ma.us",
    "foo.bar.unknowntld",
    "münchen.de",
    "xn--mnchen-3ya.de",
    "bar.рф",
    "foo.xn--p1ai",
]


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_registrable_domain_is_the_public_suffix_lists(domain: str) -> None:
    whole_list = PublicSuffixList()

    expected = ascii_domain(whole_list.privatesuffix(domain) or domain)

    assert organisation_domain(f"jane@{domain}") == expected
    assert organisation_domain(f"jane@{ascii_domain(domain)}") == expected


def test_free_mail_has_no_organisation() -> None:
    assert organisation_domain("jane@gmail.com") is None
