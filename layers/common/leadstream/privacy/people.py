"""Use cases of privacy: find every item held about a person (by e-mail), export it, erase it.

A person is found without a scan: the e-mail's link (ID#<key>/LINK) names their lead (else the e-mail's
own lead), and `leads.gather` finds what is held about that lead and the leads merged into it. Leads
written before LINKED# records existed are found by a scan of the links (`scan_links`, the command line
only). Erasing also deletes the idempotency records of the person's stage changes (a scan of the
IdempotencyTable: the command line only) and the notifications parked about them, and leaves, besides the
suppression entries, a tombstone STATE per erased lead for a day: a behaviour record still on its way
through the stream (stored just before the erase) is dropped by scoring instead of bringing the lead back.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadstream.accounts.departure import Departures, memberships
from leadstream.archive.erasure import ArchiveErasure
from leadstream.identity.identifiers import Identifier, IdKind, lead_for_key, normalise_email
from leadstream.identity.repository import LINK_SK, LINKED_PREFIX, STATE_SK, lead_pk
from leadstream.identity.resolution import MAX_ROOT_HOPS
from leadstream.notifications.notifiers import FileNotifier, SlackNotifier, SnsNotifier
from leadstream.privacy.leads import ACCOUNTS, LEADS, gather, hand_overs, kind_of
from leadstream.privacy.repository import (
    IdempotencyRecords,
    ParkedMessages,
    PrivacyRepository,
    Raw,
    as_plain,
)
from leadstream.privacy.suppression import suppression_hash
from leadstream.shadow.keys import lead_prefix, shadow_pk

# Stream records are kept 24 hours: after that, none stored before the erase can reach scoring.
TOMBSTONE_LIFE = timedelta(days=1)
CHANNELS = (FileNotifier.name, SlackNotifier.name, SnsNotifier.name)


@dataclass
class Person:
    email: str
    lead_id: str
    leads: list[str]  # the person's lead first, then the leads merged into it
    identifier_keys: list[str]  # hashed identifier keys (kind:digest), the e-mail's first
    items: list[tuple[str, Raw]] = field(default_factory=list)  # ("leads" | "accounts", raw item)
    parked: list[tuple[str, str, Any]] = field(default_factory=list)  # (message id, receipt, body)
    # Powertools idempotency records of the person's stage changes (publishing, notifying)
    effects: list[Raw] = field(default_factory=list)
    # their devices' leads that another person holds now (a shared device handed over): the device's id is
    # not suppressed, and its lead's tombstone keeps the hand-overs, so the holder keeps the device
    away: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for table, item in self.items:
            kind = kind_of(table, item["sk"]["S"])
            counted[kind] = counted.get(kind, 0) + 1
        if self.parked:
            counted["parked_notifications"] = len(self.parked)
        if self.effects:
            counted["idempotency_records"] = len(self.effects)
        return counted

    def transition_ids(self) -> list[str]:
        """The ids of the person's stage changes (their TRANS# items)."""
        return [
            i["id"]["S"]
            for _, i in self.items
            if i["sk"]["S"].startswith("TRANS#") and "S" in i.get("id", {})
        ]

    def export(self) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for table, item in self.items:
            grouped.setdefault(kind_of(table, item["sk"]["S"]), []).append(as_plain(item))
        if self.parked:
            grouped["parked_notifications"] = [{"message_id": m, "body": b} for m, _, b in self.parked]
        if self.effects:
            grouped["idempotency_records"] = [as_plain(item) for item in self.effects]
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


def _archived_by(person: Person) -> tuple[list[str], set[tuple[str, str]]]:
    """What of the archive is the person's: every record of their own leads (not those of a shared device
    another person holds now), and the events the table holds of theirs on other leads (a device they held
    for a while)."""
    away = set(person.away)
    events = {
        (i["pk"]["S"].removeprefix("LEAD#"), i["sk"]["S"])
        for t, i in person.items
        if t == LEADS and i["sk"]["S"].startswith("EVT#")
    }
    return [lead for lead in person.leads if lead not in away], events


class People:
    def __init__(
        self,
        repository: PrivacyRepository,
        parked: ParkedMessages | None = None,
        effects: IdempotencyRecords | None = None,
        departures: Departures | None = None,
        archive: ArchiveErasure | None = None,
    ) -> None:
        self.repository = repository
        self.archive = archive  # the event archive: their archived records go too
        self.parked = parked
        self.effects = effects
        self.departures = departures  # takes the person out of their accounts' scores

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
        for _ in range(MAX_ROOT_HOPS):  # the person is the root the e-mail's lead was merged into
            state = repo.get(leads_table, lead_pk(lead_id), STATE_SK) or {}
            if "S" not in state.get("merged_into", {}):
                break
            lead_id = state["merged_into"]["S"]
        own = repo.partition(leads_table, lead_pk(lead_id))
        keys = [email_id.key]
        mine = LINKED_PREFIX + email_id.key
        recorded = any(i["sk"]["S"].startswith(LINKED_PREFIX) and i["sk"]["S"] != mine for i in own)
        if scan_links or (scan_links is None and not recorded and own):
            for found in scanned(repo.links()):
                key = found["pk"]["S"].removeprefix("ID#")
                if found.get("lead_id", {}).get("S") == lead_id and key not in keys:
                    keys.append(key)
        held = gather(repo, lead_id, keys, own=[email_id.derived_lead_id()], partition=own)
        away = hand_overs(repo, held)
        for lead in held.leads:  # shadow mode's records of them (a candidate model's scores)
            shadowed = repo.partition(leads_table, shadow_pk(lead), lead_prefix(lead))
            held.items += [(LEADS, item) for item in shadowed]
        person = Person(address, lead_id, held.leads, held.identifier_keys, held.items, away=away)
        if self.effects is not None:
            tids = person.transition_ids()
            person.effects = self.effects.find(tids + [[t, channel] for t in tids for channel in CHANNELS])
        if self.parked is not None:
            leads = set(person.leads)
            parked = self.parked.read()
            person.parked = [m for m in parked if _mentions(m[2], leads, address)]
            kept = {receipt for _, receipt, _ in person.parked}
            self.parked.release([receipt for _, receipt, _ in parked if receipt not in kept])
        return person

    def archived(self, person: Person) -> list[dict[str, Any]]:
        """The person's records in the event archive, as JSON objects (`people export`; erase removes
        exactly these)."""
        if self.archive is None:
            return []
        return [json.loads(r.to_json()) for r in self.archive.find(*_archived_by(person))]

    def release(self, person: Person) -> None:
        """Put the person's parked notifications back in view (after an export: nothing was taken)."""
        if self.parked is not None and person.parked:
            self.parked.release([receipt for _, receipt, _ in person.parked])

    def erase(self, person: Person, secret: str, now: datetime) -> Erased:
        """Suppress the person's identifiers first (an event arriving meanwhile is dropped, not stored
        again), put a tombstone in place of each of their leads' STATE (a record already on the stream is
        not scored back), take them out of their accounts' scores, then delete every other item found,
        the idempotency records and the parked notifications."""
        counts = person.counts()
        away = set(person.away)
        ids = [k for k in person.identifier_keys if not (k.startswith("anon:") and lead_for_key(k) in away)]
        keyed = [suppression_hash(secret, key) for key in ids]
        self.repository.suppress(keyed, now)
        self.repository.tombstone([lead for lead in person.leads if lead not in away], now + TOMBSTONE_LIFE)
        state_of = {i["pk"]["S"]: i for t, i in person.items if t == LEADS and i["sk"]["S"] == STATE_SK}
        self.repository.tombstone(person.away, None, {lead: state_of[lead_pk(lead)] for lead in person.away})
        if self.departures is not None:  # before the memberships that hold their marks go
            self.departures.leave(memberships(person.items, ACCOUNTS), now)
        states = {(lead_pk(lead), STATE_SK) for lead in person.leads}
        held = [(t, i) for t, i in person.items if (i["pk"]["S"], i["sk"]["S"]) not in states]
        for table_kind, table in (
            (LEADS, self.repository.leads_table),
            (ACCOUNTS, self.repository.accounts_table),
        ):
            keys = list(dict.fromkeys((i["pk"]["S"], i["sk"]["S"]) for t, i in held if t == table_kind))
            self.repository.delete(table, keys)
        if self.effects is not None and person.effects:
            self.effects.delete(person.effects)
        if self.parked is not None and person.parked:
            self.parked.delete([receipt for _, receipt, _ in person.parked])
        if self.archive is not None:  # last: a record archived meanwhile is found too
            archived = self.archive.erase(*_archived_by(person)).records
            if archived:
                counts["archived_records"] = archived
        return Erased(counts, keyed)
