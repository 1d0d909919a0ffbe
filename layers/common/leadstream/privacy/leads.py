"""A lead and the leads merged into it: every item held about them, found without a scan. What `people
export/erase` reads about a person and what ExpireFunction deletes when an inactive lead expires.

From the lead's partition (STATE, PROFILE, events, TRANS#, LINKED# records): each LINKED# record names an
identifier that belongs to the lead, whose link (ID#<key>/LINK) is the lead's while it points at it, and
whose own lead, when STATE says it was merged into one of these leads, is walked the same way (so a lead
merged into a merged lead is found too). STATE's `absorbed` names the leads whose scores were folded in,
MEMBERS the leads identity merged into it.
A PROFILE names the accounts the lead joined (`account`, `accounts`), a STATE the company its network
names (`company`): their memberships are the lead's.

A shared device (identity.resolution) splits its lead's events by its STATE's `handed`: those stored while
another person held the device are that person's (`hand_overs`), found from their HELD# records.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from leadstream.identity.identifiers import lead_for_key
from leadstream.identity.provenance_repository import CHANGE_PREFIX, CLAIM_PREFIX
from leadstream.identity.repository import (
    HELD_PREFIX,
    LINK_SK,
    LINKED_PREFIX,
    MEMBERS_SK,
    PROFILE_SK,
    STATE_SK,
    handed_of,
    lead_pk,
)
from leadstream.identity.resolution import Handed, holder_at
from leadstream.privacy.repository import PrivacyRepository, Raw

LEADS = "leads"
ACCOUNTS = "accounts"


def kind_of(table: str, sk: str) -> str:
    """What an item is, for the export and the erase report."""
    if table == ACCOUNTS:
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
    if sk.startswith(CHANGE_PREFIX):
        return "profile_changes"
    if sk.startswith(CLAIM_PREFIX):
        return "identity_claims"
    if sk.startswith(HELD_PREFIX):
        return "devices_handed_over"
    if sk == "QUAL":
        return "qualification_answers"
    if sk.startswith("NOTE#"):
        return "sales_notes"
    if sk.startswith("AUDIT#"):
        return "sales_actions"
    if sk.startswith("LEAD#"):  # under SHADOW#<NN>: shadow mode's (shadow.keys)
        return "shadow_scores"
    return "other"


@dataclass
class Holdings:
    lead_id: str
    leads: list[str]  # the lead first, then the leads merged into it
    identifier_keys: list[str]  # hashed identifier keys (kind:digest) that belong to them
    items: list[tuple[str, Raw]] = field(default_factory=list)  # (LEADS | ACCOUNTS, raw item)

    def keys(self, table: str) -> list[tuple[str, str]]:
        """(pk, sk) of the items held in one table (LEADS or ACCOUNTS), each once."""
        return list(dict.fromkeys((i["pk"]["S"], i["sk"]["S"]) for t, i in self.items if t == table))


def _state(items: list[Raw]) -> Raw | None:
    return next((i for i in items if i["sk"]["S"] == STATE_SK), None)


def _string(item: Raw | None, name: str) -> str | None:
    value = (item or {}).get(name, {}).get("S")
    return str(value) if value is not None else None


def members(items: list[Raw]) -> list[str]:
    """The leads identity merged into this one (its MEMBERS item), scored or not."""
    found = next((i for i in items if i["sk"]["S"] == MEMBERS_SK), None)
    return list((found or {}).get("members", {}).get("SS", []))


def absorbed(state: Raw | None) -> list[str]:
    """The leads whose scores a STATE item (DynamoDB JSON) folded in."""
    return list((state or {}).get("absorbed", {}).get("M", {}))


def gather(
    repo: PrivacyRepository,
    lead_id: str,
    keys: Iterable[str] = (),
    candidates: Iterable[str] = (),
    own: Iterable[str] = (),
    partition: list[Raw] | None = None,
) -> Holdings:
    """Everything held about `lead_id` and the leads merged into it. `keys`: identifier keys known to
    belong to it besides its LINKED# records; `candidates`: leads that may have been merged into it (an
    expired STATE's `absorbed`); `own`: leads that are its whatever their STATE says (the e-mail's own
    lead, where signed links store opens and clicks); `partition`: the lead's items, if already read."""
    table = repo.leads_table
    held = Holdings(lead_id, [lead_id], list(dict.fromkeys(keys)))
    forced = set(own)
    links: dict[str, Raw] = {}
    checked = {lead_id}
    looked_up: set[str] = set()
    first = partition if partition is not None else repo.partition(table, lead_pk(lead_id))
    todo = [(first, list(candidates))]
    while todo:
        items, maybe = todo.pop(0)
        held.items += [(LEADS, item) for item in items]
        for item in items:
            sk = item["sk"]["S"]
            if sk.startswith(LINKED_PREFIX) and sk.removeprefix(LINKED_PREFIX) not in held.identifier_keys:
                held.identifier_keys.append(sk.removeprefix(LINKED_PREFIX))
        maybe += absorbed(_state(items)) + members(items)
        for key in held.identifier_keys:
            if key in looked_up:
                continue
            looked_up.add(key)
            link = repo.get(table, f"ID#{key}", LINK_SK)
            if link:
                links[key] = link
            maybe.append(lead_for_key(key))
        for candidate in maybe:
            if candidate in checked:
                continue
            checked.add(candidate)
            found = repo.partition(table, lead_pk(candidate))
            if found and (candidate in forced or _string(_state(found), "merged_into") in held.leads):
                held.leads.append(candidate)
                todo.append((found, []))
    held.items += [(LEADS, link) for link in links.values() if _string(link, "lead_id") in held.leads]
    for _, item in list(held.items):
        if item["sk"]["S"] not in (PROFILE_SK, STATE_SK):
            continue
        member = item["pk"]["S"].removeprefix("LEAD#")
        # a STATE's `company`: the account its network names (company by IP), which no PROFILE lists
        domains = {_string(item, "account"), _string(item, "company")}
        domains |= set(item.get("accounts", {}).get("SS", []))
        for domain in sorted(d for d in domains if d):
            membership = repo.get(repo.accounts_table, f"ACCOUNT#{domain}", f"LEAD#{member}")
            if membership:
                held.items.append((ACCOUNTS, membership))
    return held


def handed(state: Raw | None) -> Handed:
    """A device lead's hand-overs, from its STATE item (DynamoDB JSON)."""
    raw = (state or {}).get("handed", {}).get("L", [])
    return handed_of({"at": h["M"]["at"]["N"], "to": h["M"]["to"]["S"]} for h in raw)


def _holder(item: Raw, hand_overs: Handed) -> str | None:
    rcv = item.get("rcv", {}).get("N")
    return holder_at(hand_overs, float(rcv) if rcv is not None else None)


def hand_overs(repo: PrivacyRepository, held: Holdings) -> list[str]:
    """Apply shared devices' hand-overs to what `gather` found: events a device's lead holds from while
    another person held the device leave `held`, and the events of devices handed over to these leads
    (their HELD# records) while they held them join it. Returns the leads of `held` whose device another
    person holds now."""
    mine = set(held.leads)
    states = {i["pk"]["S"]: i for t, i in held.items if t == LEADS and i["sk"]["S"] == STATE_SK}
    away: list[str] = []
    kept: list[tuple[str, Raw]] = []
    for table, item in held.items:
        device = handed(states.get(item["pk"]["S"]))
        if table == LEADS and item["sk"]["S"].startswith("EVT#") and device:
            holder = _holder(item, device)
            if holder is not None and holder not in mine:
                continue  # stored while someone else held the device
        kept.append((table, item))
    for lead in held.leads:
        device = handed(states.get(lead_pk(lead)))
        if device and device[-1][1] not in mine:
            away.append(lead)
    devices = {
        i["sk"]["S"].removeprefix(HELD_PREFIX) for t, i in kept if i["sk"]["S"].startswith(HELD_PREFIX)
    }
    for device_lead in sorted(devices - mine):
        items = repo.partition(repo.leads_table, lead_pk(device_lead))
        device = handed(_state(items))
        kept += [(LEADS, i) for i in items if i["sk"]["S"].startswith("EVT#") and _holder(i, device) in mine]
    held.items = kept
    return away
