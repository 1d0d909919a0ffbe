"""Retention: when DynamoDB's TTL deletes an inactive lead's STATE, the rest of that lead goes too.

A lead's STATE expires at the latest `lead_expires` of the events scored on it (received time plus the
source's lead retention, else the stack's), so activity keeps a lead. When the TTL deletes it, ExpireFunction
hands the deleted STATE (the stream record's OldImage) to `Expiry.expire`, which deletes, with the finding and
deleting code of `people erase` (`leads.gather`), the lead's PROFILE, TRANS# items, LINKED# records and the
ID# links that still point at it, its account memberships, its events, and every item of the leads merged
into it. Expiry is not erasure: it writes no suppression entry, so the person may come back as someone new.

What was written after the STATE expired belongs to a new life of the lead and stays: an event whose
`lead_expires` is later than the expired STATE's (it was not scored into it), an item written after that
moment, a STATE that exists again. A merged lead's STATE (`merged_into`) carries no expiry of its own (its
items live as long as the lead that absorbed it); should one be deleted anyway, nothing is done. An erased
lead's tombstone expiring takes whatever a record in flight stored about it meanwhile. Running it twice
deletes nothing more: it is idempotent.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from leadstream.accounts.departure import Departures, memberships
from leadstream.identity.repository import STATE_SK, lead_pk
from leadstream.privacy.leads import ACCOUNTS, LEADS, absorbed, gather, kind_of
from leadstream.privacy.repository import PrivacyRepository, Raw

# When an item was written (epoch seconds): PROFILE, LINKED# and ID# links, memberships, TRANS# (its `at`).
# Events say until when they keep the lead (`lead_expires`) instead.
WRITTEN_AT = ("updated_at", "linked_at", "joined_at", "at")


@dataclass(frozen=True)
class ExpiredLead:
    """A lead's STATE as the TTL deleted it (the stream record's OldImage)."""

    lead_id: str
    expired_at: datetime | None  # its `expires_at`
    merged_into: str | None
    erased: bool  # it was a tombstone left by `people erase`
    absorbed: tuple[str, ...]

    @classmethod
    def from_image(cls, image: dict[str, Any]) -> "ExpiredLead":
        expires = image.get("expires_at", {}).get("N")
        return cls(
            lead_id=image["pk"]["S"].removeprefix("LEAD#"),
            expired_at=datetime.fromtimestamp(int(float(expires)), UTC) if expires else None,
            merged_into=image.get("merged_into", {}).get("S"),
            erased=bool(image.get("erased", {}).get("BOOL")),
            absorbed=tuple(absorbed(image)),
        )


def _number(item: Raw, name: str) -> float | None:
    value = item.get(name, {}).get("N")
    return float(value) if value is not None else None


def _new_life(item: Raw, lead: ExpiredLead) -> bool:
    """Whether an item was written after the lead's STATE expired (so it is not part of what expired)."""
    if item["pk"]["S"] == lead_pk(lead.lead_id) and item["sk"]["S"] == STATE_SK:
        return True  # the expired STATE is gone: this one was written since
    if lead.erased or lead.expired_at is None:
        return False
    moment = lead.expired_at.timestamp()
    if item["sk"]["S"].startswith("EVT#"):
        kept_until = _number(item, "lead_expires")
        return kept_until is not None and kept_until > moment
    return any((_number(item, name) or 0) > moment for name in WRITTEN_AT)


class Expiry:
    def __init__(self, repository: PrivacyRepository, departures: Departures | None = None) -> None:
        self.repository = repository
        self.departures = departures  # takes the lead out of its accounts' scores

    def expire(self, lead: ExpiredLead) -> dict[str, int]:
        """Delete what is left of an expired lead; what was deleted, by kind (empty for a merged lead)."""
        if lead.merged_into is not None:
            return {}
        held = gather(self.repository, lead.lead_id, candidates=lead.absorbed)
        held.items = [(table, item) for table, item in held.items if not _new_life(item, lead)]
        if self.departures is not None:  # before the memberships that hold their marks go
            self.departures.leave(memberships(held.items, ACCOUNTS), datetime.now(UTC))
        for table_kind, table in (
            (LEADS, self.repository.leads_table),
            (ACCOUNTS, self.repository.accounts_table),
        ):
            self.repository.delete(table, held.keys(table_kind))
        return dict(Counter(kind_of(table, item["sk"]["S"]) for table, item in held.items))
