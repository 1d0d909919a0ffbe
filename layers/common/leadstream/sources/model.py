"""Sources: the websites and apps that send us behaviour, each with a write key and privacy settings."""

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

DEFAULT_RETENTION_DAYS = 90  # how long raw behaviour is kept when a source says nothing else
# How long a lead (profile, score, links) is kept after its last activity when neither the source nor the
# stack (LeadRetentionDays) says otherwise: over a year, so that an annual buying cycle finds it again.
DEFAULT_LEAD_RETENTION_DAYS = 395
# Ours are 36 characters ("lsk_" + 32). A key can never be longer than this, nor anything but printable
# ASCII: such a key is unknown without a look-up (DynamoDB refuses keys over 2,048 bytes outright).
MAX_WRITE_KEY_LENGTH = 256


class IpMode(StrEnum):
    TRUNCATE = "truncate"  # 203.0.113.77 -> 203.0.113.0, 2001:db8::1 -> 2001:db8:: (/48)
    HASH = "hash"  # a keyed hash: the same visitor IP gives the same value, nobody can read it back
    DROP = "drop"  # not stored at all


class Trust(StrEnum):
    """Who holds a source's write keys, and so how far its calls are believed (README "Trust model")."""

    BROWSER = "browser"  # the key sits in web pages: anyone can send with it
    SERVER = "server"  # the key is a secret on the customer's servers: never sent from a browser


class SourceStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Privacy:
    ip_mode: IpMode = IpMode.TRUNCATE
    retention_days: int = DEFAULT_RETENTION_DAYS
    honour_dnt: bool = True  # drop calls from browsers that send DNT: 1 or Sec-GPC: 1
    lead_retention_days: int | None = None  # None: the stack's LeadRetentionDays

    def expiry(self, received_at: datetime) -> datetime:
        """When raw behaviour received at `received_at` expires (the table's TTL deletes it)."""
        return received_at + timedelta(days=self.retention_days)

    def lead_expiry(self, received_at: datetime, default_days: int) -> datetime:
        """Until when activity received at `received_at` keeps its lead (profile, score, links): the
        source's lead retention, else the stack's `default_days`, and never shorter than the raw events'."""
        days = max(self.lead_retention_days or default_days, self.retention_days)
        return received_at + timedelta(days=days)


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    allowed_origins: tuple[str, ...] = ()
    status: SourceStatus = SourceStatus.ACTIVE
    privacy: Privacy = field(default_factory=Privacy)
    salt: str = ""  # keys this source's IP hashes
    # May send history (events of any age) to /v1/import: backfills, simulators, migrations. The live
    # endpoints take events of the last days only (tracking.segment.LIVE_HISTORY).
    allow_import: bool = False
    trust: Trust = Trust.BROWSER

    @property
    def active(self) -> bool:
        return self.status is SourceStatus.ACTIVE

    def opted_out(self, do_not_track: bool) -> bool:
        """A browser's Do-Not-Track or Global Privacy Control, when this source honours them."""
        return self.privacy.honour_dnt and do_not_track

    @property
    def preflight_origins(self) -> frozenset[str]:
        """The origins whose CORS preflights pass for this source: its own while it is active."""
        return frozenset(self.allowed_origins) if self.active else frozenset()

    def allows_origin(self, origin: str | None) -> bool:
        """Browsers say where a call comes from; servers and SDKs outside a browser send no Origin."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins


@dataclass(frozen=True)
class WriteKey:
    key: str
    source_id: str
    expires_at: datetime | None = None  # set when a rotation retires it

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def plausible_write_key(key: str) -> bool:
    """Whether `key` could be a write key at all: 1 to MAX_WRITE_KEY_LENGTH printable ASCII characters."""
    return 0 < len(key) <= MAX_WRITE_KEY_LENGTH and key.isascii() and key.isprintable() and " " not in key


def new_write_key() -> str:
    """A write key: public by design (it sits in web pages), unguessable, never logged."""
    return "lsk_" + secrets.token_urlsafe(24)


def new_source_id(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:32] or "source"
    return f"{slug}-{secrets.token_hex(3)}"


def new_salt() -> str:
    return secrets.token_hex(16)


def anonymise_ip(ip: str | None, mode: IpMode, salt: str) -> str | None:
    if not ip or mode is IpMode.DROP:
        return None
    try:  # an IPv6 zone ("fe80::1%eth0") names the visitor's network card: never kept
        address = ipaddress.ip_address(ip.strip().partition("%")[0])
    except ValueError:
        return None
    if mode is IpMode.HASH:
        return "h:" + hashlib.blake2b(address.packed, key=salt.encode()[:64], digest_size=8).hexdigest()
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
