"""The company behind a visitor's network, and the network it is looked up by (pure: no I/O).

Only a business names an account. ISP, mobile, hosting and VPN ranges are everyone's: their visitors are
nobody's employees. Education ranges name no account either: a campus network (and its residence halls)
is mostly students, not buyers, so "mit.edu visited the pricing page" would be noise; a university's staff
still make its account the usual way, by a work e-mail (identify or a form).
"""

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from leadstream.identity.identifiers import account_domain
from leadstream.sources.model import IpMode, anonymise_ip

NAME_LIMIT = 200


class CompanyKind(StrEnum):
    BUSINESS = "business"
    ISP = "isp"
    HOSTING = "hosting"
    MOBILE = "mobile"
    VPN = "vpn"  # also proxies, Tor exits and relays (iCloud Private Relay): the visitor is hidden
    EDUCATION = "education"
    UNKNOWN = "unknown"  # the provider names nobody for the network


@dataclass(frozen=True)
class Company:
    """What a network says about its visitors. Only a business keeps its domain and name: for the other
    kinds the kind is all we need, and all we keep."""

    kind: CompanyKind
    domain: str | None = None  # the registrable domain, lower-case ASCII (IDNA), as an account's
    name: str | None = None

    @classmethod
    def found(cls, kind: CompanyKind, domain: str | None = None, name: str | None = None) -> "Company":
        """A provider's answer, normalised: the domain to the account's form (www.eu.acme.co.uk ->
        acme.co.uk), the name to one trimmed line. A business with no usable domain names no account."""
        if kind is not CompanyKind.BUSINESS:
            return cls(kind)
        try:
            account = account_domain(domain) if domain else None
        except ValueError:
            account = None
        if account is None or "." not in account:
            return cls(CompanyKind.UNKNOWN)
        label = " ".join((name or "").split())[:NAME_LIMIT] or None
        return cls(kind, account, label)

    @property
    def creates_account(self) -> bool:
        return self.kind is CompanyKind.BUSINESS and self.domain is not None


class CompanyResolver(Protocol):
    def resolve(self, ip: str) -> Company | None:
        """The company behind `ip`; None when it cannot be known now (off, the provider failed or was
        too slow, not a public address). Never raises: tracking must not wait on, or fail with, it."""
        ...


def network(ip: str | None) -> str | None:
    """The network a visitor is looked up and cached by: the prefix a stored IP is truncated to (IPv4 /24,
    IPv6 /48, see sources.model.anonymise_ip), written as a CIDR block. None for an address that is no
    public one (private, loopback, documentation, ...): no provider knows a company there."""
    address = anonymise_ip(ip, IpMode.TRUNCATE, salt="")
    if address is None:
        return None
    parsed = ipaddress.ip_address(address)
    if not parsed.is_global:
        return None
    return f"{address}/{24 if parsed.version == 4 else 48}"


def network_address(prefix: str) -> str:
    """The address a provider is asked about for a network: its first one, never the visitor's own."""
    return prefix.partition("/")[0]
