"""Use cases of privacy: find every item held about a person (by e-mail), export it, erase it.

A person is found without a scan: the e-mail's link (ID#<key>/LINK) names their lead (else the e-mail's
own lead); the lead's partition holds STATE (score, transitions), PROFILE, events and the LINKED# records
of the identifiers that belong to it; each of those identifiers has its link, and its own lead (when it is
not the person's lead) was merged into the person's lead and holds events of its own. Leads written before
LINKED# records existed are found by a scan of the links (`scan_links`, the command line only).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadstream.identity.identifiers import Identifier, IdKind, lead_for_key, normalise_email
from leadstream.identity.repository import LINK_SK, LINKED_PREFIX, lead_pk
from leadstream.privacy.repository import ParkedMessages, PrivacyRepository, Raw, as_plain
from leadstream.privacy.suppression import suppression_hash


def kind_of(table: str, sk: str) -> str:
    """What an item is, for the export and the erase report."""
    if table == "accounts":
        return "account_membership"
    if sk == "PROFILE":
        return "profile"
    if sk == "STATE":
        return "score_state"
    if sk.startswith("EVT#"):
        return "events"
    if sk == LINK_SK:
        return "identity_links"
    if sk.startswith(LINKED_PREFIX):
        return "identity_records"
    if sk.startswith("TRANS#"):
        return "score_ledger"
    return "other"


@dataclass
class Person:
    email: str
    lead_id: str
    leads: list[str]  # the person's lead first, then the leads merged into it
    identifier_keys: list[str]  # hashed identifier keys (kind:digest), the e-mail's first
    items: list[tuple[str, Raw]] = field(default_factory=list)  # ("leads" | "accounts", raw item)
    parked: list[tuple[str, str, Any]] = field(default_factory=list)  # (message id, receipt, body)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for table, item in self.items:
            kind = kind_of(table, item["sk"]["S"])
            counted[kind] = counted.get(kind, 0) + 1
        if self.parked:
            counted["parked_notifications"] = len(self.parked)
        return counted

    def export(self) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for table, item in self.items:
            grouped.setdefault(kind_of(table, item["sk"]["S"]), []).append(as_plain(item))
        if self.parked:
            grouped["parked_notifications"] = [{"message_id": m, "body": b} for m, _, b in self.parked]
        return {
            "email": self.email,
            "lead_id": self.lead_id,
            "leads": self.leads,
            "identifiers": self.identifier_keys,
            "items": grouped,
        }


@dataclass(frozen=True)
class Erased:
    counts: dict[str, int]
    suppressed: list[str]  # the keyed hashes written as SUPPRESS# entries


def _mentions(body: Any, leads: set[str], email: str) -> bool:
    """A parked message about the person: any `lead_id` among their leads, or their `email`."""
    if isinstance(body, dict):
        if body.get("lead_id") in leads:
            return True
        value = body.get("email")
        if isinstance(value, str) and normalise_email(value) == email:
            return True
        return any(_mentions(v, leads, email) for v in body.values())
    if isinstance(body, list):
        return any(_mentions(v, leads, email) for v in body)
    return False


class People:
    def __init__(self, repository: PrivacyRepository, parked: ParkedMessages | None = None) -> None:
        self.repository = repository
        self.parked = parked

    def find(
        self,
        email: str,
        scan_links: bool | None = None,
        scanned: Callable[[Iterator[Raw]], Iterable[Raw]] = lambda items: items,
    ) -> Person:
        """Every item about the person with this e-mail. `scan_links`: True to scan the links as well,
        None to scan only when the lead has no LINKED# records (older data), False never; `scanned` wraps
        the scan (progress on the command line)."""
        repo, leads_table = self.repository, self.repository.leads_table
        address = normalise_email(email)
        email_id = Identifier(IdKind.EMAIL, address)
        link = repo.get(leads_table, f"ID#{email_id.key}", LINK_SK)
        lead_id = link["lead_id"]["S"] if link and "lead_id" in link else email_id.derived_lead_id()
        own = repo.partition(leads_table, lead_pk(lead_id))
        keys = [email_id.key] + [
            item["sk"]["S"].removeprefix(LINKED_PREFIX)
            for item in own
            if item["sk"]["S"].startswith(LINKED_PREFIX) and item["sk"]["S"] != LINKED_PREFIX + email_id.key
        ]
        if scan_links or (scan_links is None and len(keys) == 1 and own):
            for found in scanned(repo.links()):
                key = found["pk"]["S"].removeprefix("ID#")
                if found.get("lead_id", {}).get("S") == lead_id and key not in keys:
                    keys.append(key)
        person = Person(address, lead_id, [lead_id], keys)
        person.items += [("leads", item) for item in own]
        for key in keys:
            key_link = link if key == email_id.key else repo.get(leads_table, f"ID#{key}", LINK_SK)
            if key_link and key_link.get("lead_id", {}).get("S") == lead_id:
                person.items.append(("leads", key_link))
            derived = lead_for_key(key)
            if derived in person.leads:
                continue
            partition = repo.partition(leads_table, lead_pk(derived))
            state = next((i for i in partition if i["sk"]["S"] == "STATE"), None)
            merged_here = state is not None and state.get("merged_into", {}).get("S") == lead_id
            # the e-mail's own lead (opens and clicks of signed links) is the person's whatever its STATE
            if partition and (merged_here or key == email_id.key):
                person.leads.append(derived)
                person.items += [("leads", item) for item in partition]
        for _, item in list(person.items):
            account = item.get("account", {}).get("S") if item["sk"]["S"] == "PROFILE" else None
            if account:
                member_of = item["pk"]["S"].removeprefix("LEAD#")
                member = repo.get(repo.accounts_table, f"ACCOUNT#{account}", f"LEAD#{member_of}")
                if member:
                    person.items.append(("accounts", member))
        if self.parked is not None:
            leads = set(person.leads)
            parked = self.parked.read()
            person.parked = [m for m in parked if _mentions(m[2], leads, address)]
            kept = {receipt for _, receipt, _ in person.parked}
            self.parked.release([receipt for _, receipt, _ in parked if receipt not in kept])
        return person

    def release(self, person: Person) -> None:
        """Put the person's parked notifications back in view (after an export: nothing was taken)."""
        if self.parked is not None and person.parked:
            self.parked.release([receipt for _, receipt, _ in person.parked])

    def erase(self, person: Person, secret: str, now: datetime) -> Erased:
        """Suppress the person's identifiers first (an event arriving meanwhile is dropped, not stored
        again), then delete every item found and the parked notifications."""
        counts = person.counts()
        keyed = [suppression_hash(secret, key) for key in person.identifier_keys]
        self.repository.suppress(keyed, now)
        for table_kind, table in (
            ("leads", self.repository.leads_table),
            ("accounts", self.repository.accounts_table),
        ):
            keys = list(
                dict.fromkeys(
                    (item["pk"]["S"], item["sk"]["S"]) for kind, item in person.items if kind == table_kind
                )
            )
            self.repository.delete(table, keys)
        if self.parked is not None and person.parked:
            self.parked.delete([receipt for _, receipt, _ in person.parked])
        return Erased(counts, keyed)
