"""Acquisition channel of a visit, from UTM parameters, click ids and the referrer."""

from dataclasses import asdict, dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class Channel(StrEnum):
    PAID_SEARCH = "paid search"
    PAID_SOCIAL = "paid social"
    ORGANIC_SEARCH = "organic search"
    ORGANIC_SOCIAL = "organic social"
    EMAIL = "email"
    REFERRAL = "referral"
    DIRECT = "direct"


_SEARCH_CLICK_IDS = ("gclid", "msclkid", "dclid", "yclid")
_SOCIAL_CLICK_IDS = ("fbclid", "li_fat_id", "ttclid", "twclid")
# Matched against whole host labels (google.co.uk, l.facebook.com, uk.linkedin.com), never substrings.
_SEARCH_ENGINES = frozenset(
    {
        "google",
        "bing",
        "duckduckgo",
        "yahoo",
        "baidu",
        "yandex",
        "ecosia",
        "qwant",
        "brave",
        "startpage",
        "kagi",
        "naver",
        "seznam",
        "sogou",
        "ask",
        "aol",
    }
)
# Web mail: a visitor coming from a mailbox followed a link in an e-mail.
_WEBMAIL = frozenset(
    {
        "mail.google.com",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.yahoo.com",
        "mail.aol.com",
        "mail.proton.me",
        "app.fastmail.com",
        "mail.zoho.com",
    }
)
_SOCIAL_NETWORKS = frozenset(
    {"facebook", "linkedin", "twitter", "instagram", "reddit", "youtube", "tiktok", "pinterest", "threads"}
)
# Short domains that are social networks themselves, and utm_source spellings of them.
_SOCIAL_DOMAINS = frozenset({"t.co", "x.com", "lnkd.in", "fb.com", "fb.me", "bsky.app"})
_SOCIAL_SOURCES = _SOCIAL_NETWORKS | _SOCIAL_DOMAINS | {"fb", "ig", "x", "li", "bluesky"}
_PAID_MEDIUMS = ("cpc", "ppc", "cpm", "display")  # and anything starting with "paid"


@dataclass(frozen=True)
class Touch:
    channel: Channel
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    landing_path: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> "Touch":
        return cls(
            channel=Channel(raw["channel"]),
            source=raw.get("source"),
            medium=raw.get("medium"),
            campaign=raw.get("campaign"),
            landing_path=raw.get("landing_path"),
        )


def _labels(host: str) -> set[str]:
    return set(host.split(".")[:-1])  # the last label is the TLD


def _on_domain(host: str, domains: frozenset[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _is_search_engine(host: str) -> bool:
    return bool(_labels(host) & _SEARCH_ENGINES)


def _is_social(host: str) -> bool:
    return bool(_labels(host) & _SOCIAL_NETWORKS) or _on_domain(host, _SOCIAL_DOMAINS)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:  # a malformed referrer is no referrer
        return None
    return host.removeprefix("www.") if host else None


def classify(
    campaign: dict[str, str],
    query: dict[str, str],
    referrer: str | None,
    own_host: str | None,
    landing_path: str | None,
) -> Touch:
    """Classify one visit. UTM beats click ids beats the referrer; an internal referrer is direct."""
    medium = (campaign.get("medium") or "").lower() or None
    source = (campaign.get("source") or "").lower() or None
    name = campaign.get("name") or campaign.get("campaign")
    ref_host = _host(referrer)
    if ref_host and own_host and ref_host == own_host.removeprefix("www."):
        ref_host = None

    def touch(channel: Channel, src: str | None) -> Touch:
        return Touch(channel, src, medium, name, landing_path)

    if medium in ("email", "e-mail", "newsletter"):
        return touch(Channel.EMAIL, source)
    social_source = bool(source and (source in _SOCIAL_SOURCES or ("." in source and _is_social(source))))
    paid_medium = bool(medium and (medium in _PAID_MEDIUMS or medium.startswith("paid")))
    if paid_medium or any(k in query for k in _SEARCH_CLICK_IDS + _SOCIAL_CLICK_IDS):
        social = social_source or "social" in (medium or "")
        if social or any(k in query for k in _SOCIAL_CLICK_IDS):
            return touch(Channel.PAID_SOCIAL, source or ref_host)
        return touch(Channel.PAID_SEARCH, source or ref_host)
    if medium == "social" or social_source:
        return touch(Channel.ORGANIC_SOCIAL, source or ref_host)
    if ref_host:
        if _on_domain(ref_host, _WEBMAIL):
            return touch(Channel.EMAIL, source or ref_host)
        if _is_search_engine(ref_host):
            engine = next(label for label in ref_host.split(".") if label in _SEARCH_ENGINES)
            return touch(Channel.ORGANIC_SEARCH, source or engine)
        if _is_social(ref_host):
            return touch(Channel.ORGANIC_SOCIAL, source or ref_host)
        return touch(Channel.REFERRAL, source or ref_host)
    if source:
        return touch(Channel.REFERRAL, source)
    return touch(Channel.DIRECT, None)
