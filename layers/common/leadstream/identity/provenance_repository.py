"""Data access for provenance (`identity.provenance` decides): who set each PROFILE field, the rank a lead
was established at, a record of every profile change, and pending claims.

LeadsTable:
  LEAD#<id> / PROFILE              besides the contact details: `provenance` (field -> source, rank, level,
                                   at) and `trusted` (the highest rank that identified the lead)
  LEAD#<id> / CHANGE#<at>#<token>  one call that changed the profile: the field names, source, rank, call,
                                   when (no values: nothing personal)
  LEAD#<id> / CLAIM#<device lead>  a call that named this lead from a device not known to be its, with a key
                                   of too low a rank to join them: the device's lead, source, rank, call, the
                                   kind of identifier that named it, when; `confirmed_at` once a call of
                                   enough rank joined them
All of them live in the lead's partition: `people export` shows them and `people erase` deletes them.
"""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from leadstream.identity.provenance import Decision, Rank, Stamp
from leadstream.identity.repository import LOST_RACE, PROFILE_SK, ProfileItem, lead_pk
from leadstream.platform.dynamo import Item, bind, mapped_errors, moment, timestamp, transact, update_unless

CHANGE_PREFIX = "CHANGE#"
CLAIM_PREFIX = "CLAIM#"


class ProvenanceItem(ProfileItem):
    class Meta:
        abstract = True

    provenance = MapAttribute[str, Any](null=True)
    trusted = NumberAttribute(null=True)


class ChangeItem(Item):
    class Meta:
        abstract = True

    fields = ListAttribute[str]()
    source_id = UnicodeAttribute(null=True)
    rank = NumberAttribute()
    level = UnicodeAttribute()
    call = UnicodeAttribute()
    at = NumberAttribute()


class ClaimItem(Item):
    class Meta:
        abstract = True

    device_lead = UnicodeAttribute()
    source_id = UnicodeAttribute(null=True)
    rank = NumberAttribute()
    level = UnicodeAttribute()
    call = UnicodeAttribute()
    named_by = UnicodeAttribute()  # the kind of identifier that named the lead (user, email, anon)
    at = NumberAttribute()
    confirmed_at = NumberAttribute(null=True)


@dataclass(frozen=True)
class AsRead:
    """A PROFILE's contact details with their provenance, as read."""

    values: dict[str, str | None]
    stamps: dict[str, Stamp]
    established: Rank | None  # None: never identified (no PROFILE, or one a group call alone wrote)
    provenance_kept: bool  # the item has a provenance map (fields are stamped one by one)


@dataclass(frozen=True)
class Claim:
    lead_id: str  # the lead claimed
    device_lead: str  # the root of the sender's own lead at the time
    source_id: str | None
    rank: Rank
    call: str
    named_by: str
    at: datetime
    confirmed_at: datetime | None = None


def _stamp(raw: Mapping[str, Any]) -> Stamp:
    return Stamp(raw.get("source"), Rank(int(raw["rank"])), moment(float(raw["at"])))  # type: ignore[arg-type]


def _stamp_value(stamp: Stamp) -> dict[str, Any]:
    return {
        "M": {
            "source": {"S": stamp.source_id} if stamp.source_id else {"NULL": True},
            "rank": {"N": str(int(stamp.rank))},
            "level": {"S": stamp.rank.label},
            "at": {"N": str(timestamp(stamp.at))},
        }
    }


class ProvenanceRepository:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.profiles = bind(ProvenanceItem, leads_table)
        self.changes = bind(ChangeItem, leads_table)

    def read(self, lead_id: str) -> AsRead:
        """The lead's PROFILE with provenance (strongly consistent: the write that follows is conditional)."""
        with mapped_errors("reading a profile"):
            try:
                item = self.profiles.get(lead_pk(lead_id), PROFILE_SK, consistent_read=True)
            except self.profiles.DoesNotExist:
                return AsRead({}, {}, None, False)
        raw = item.provenance
        kept: dict[str, Any] = raw.as_dict() if isinstance(raw, MapAttribute) else dict(raw or {})
        values = {f: getattr(item, f) for f in ("email", "name", "title", "company", "phone")}
        if item.trusted is not None:
            established: Rank | None = Rank(int(item.trusted))
        else:  # identified before ranks were kept (Rank.BROWSER: nothing protected), or never
            established = Rank.BROWSER if item.identified_at is not None else None
        stamps = {field: _stamp(raw) for field, raw in kept.items()}
        return AsRead(values, stamps, established, item.provenance is not None)

    def write(
        self,
        lead_id: str,
        read: AsRead,
        decision: Decision,
        derived: Mapping[str, str | None],
        stamp: Stamp,
        call: str,
    ) -> bool:
        """Apply a decision made on `read`, with a CHANGE# record of the fields it changed, in one
        transaction. Conditional on the provenance of each field it writes (none yet, or a rank at most
        this call's) and on the lead's rank when it raises it: False (nothing written) when another call
        got there first: read again and decide again. `derived`: attributes that go with the e-mail
        (account, e-mail kind), written when it is."""
        names: dict[str, str] = {
            "#prov": "provenance",
            "#updated": "updated_at",
            "#identified": "identified_at",
        }
        values: dict[str, Any] = {":now": {"N": str(timestamp(stamp.at))}}
        rank = {":rank": {"N": str(int(stamp.rank))}}
        sets = ["#updated = :now", "#identified = if_not_exists(#identified, :now)"]
        conditions: list[str] = []
        adds: list[str] = []
        fields = dict(decision.changes)
        if "email" in fields:
            fields.update({k: v for k, v in derived.items() if v is not None})
            if derived.get("account"):
                names["#accounts"] = "accounts"
                adds.append("#accounts :accounts")
                values[":accounts"] = {"SS": [str(derived["account"])]}
        for index, (field, value) in enumerate(sorted(fields.items())):
            names[f"#f{index}"] = field
            values[f":v{index}"] = {"S": value}
            sets.append(f"#f{index} = :v{index}")
        stamped = sorted(decision.changes)
        if read.provenance_kept:
            if stamped:
                names["#rank"] = "rank"
                values.update(rank)
            for index, field in enumerate(stamped):
                names[f"#p{index}"] = field
                values[f":s{index}"] = _stamp_value(stamp)
                sets.append(f"#prov.#p{index} = :s{index}")
                conditions.append(
                    f"(attribute_not_exists(#prov.#p{index}) OR #prov.#p{index}.#rank <= :rank)"
                )
            conditions.append("attribute_exists(#prov)")
        else:  # the first stamped write: the whole map, unless another call wrote one meanwhile
            values[":prov"] = {"M": {field: _stamp_value(stamp) for field in stamped}}
            sets.append("#prov = :prov")
            conditions.append("attribute_not_exists(#prov)")
        if decision.establish:
            names["#trusted"] = "trusted"
            values.update(rank)
            sets.append("#trusted = :rank")
            conditions.append("(attribute_not_exists(#trusted) OR #trusted <= :rank)")
        update = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": lead_pk(lead_id)}, "sk": {"S": PROFILE_SK}},
                    "UpdateExpression": update,
                    "ConditionExpression": " AND ".join(conditions),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if decision.changes:
            record = self.changes(
                lead_pk(lead_id),
                f"{CHANGE_PREFIX}{stamp.at.strftime('%Y-%m-%dT%H:%M:%S.%f')}#{secrets.token_hex(4)}",
                fields=stamped,
                source_id=stamp.source_id,
                rank=int(stamp.rank),
                level=stamp.rank.label,
                call=call,
                at=timestamp(stamp.at),
            )
            actions.append({"Put": {"TableName": self.table, "Item": record.serialize()}})
        return transact(actions, "saving a profile", LOST_RACE)

    def established(self, leads: Iterable[str]) -> dict[str, Rank]:
        """lead -> the rank it was established at, for those of `leads` a form, a server or sales
        identified (one strongly consistent BatchGetItem; the others are absent)."""
        keys = [(lead_pk(lead), PROFILE_SK) for lead in dict.fromkeys(leads)]
        with mapped_errors("reading profiles"):
            found = list(
                self.profiles.batch_get(keys, consistent_read=True, attributes_to_get=["pk", "sk", "trusted"])
            )
        return {
            i.pk.removeprefix("LEAD#"): Rank(int(i.trusted))
            for i in found
            if i.trusted is not None and int(i.trusted) > Rank.BROWSER
        }


class ClaimRepository:
    def __init__(self, leads_table: str) -> None:
        self.items = bind(ClaimItem, leads_table)

    def record(self, claim: Claim) -> None:
        """The claim, in the claimed lead's partition (the same device claiming again: its latest call)."""
        item = self.items(
            lead_pk(claim.lead_id),
            CLAIM_PREFIX + claim.device_lead,
            device_lead=claim.device_lead,
            source_id=claim.source_id,
            rank=int(claim.rank),
            level=claim.rank.label,
            call=claim.call,
            named_by=claim.named_by,
            at=timestamp(claim.at),
        )
        with mapped_errors("recording a claim"):
            item.save()

    def pending(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (claimed lead, device lead) pairs have a claim not yet confirmed (one BatchGetItem)."""
        keys = [(lead_pk(lead), CLAIM_PREFIX + device) for lead, device in dict.fromkeys(pairs)]
        with mapped_errors("reading claims"):
            found = list(self.items.batch_get(keys, consistent_read=True)) if keys else []
        return {(i.pk.removeprefix("LEAD#"), i.device_lead) for i in found if i.confirmed_at is None}

    def confirm(self, lead_id: str, device_lead: str, at: datetime) -> None:
        """Mark a claim confirmed (the device joined the lead); one already gone is left gone."""
        items = self.items
        update_unless(
            items(lead_pk(lead_id), CLAIM_PREFIX + device_lead),
            [items.confirmed_at.set(round(at.timestamp(), 3))],
            items.pk.exists(),
            "confirming a claim",
        )

    def of(self, leads: Iterable[str]) -> list[Claim]:
        """The claims on these leads, oldest first (one Query per lead)."""
        found: list[Claim] = []
        items = self.items
        with mapped_errors("reading claims"):
            for lead in dict.fromkeys(leads):
                for i in items.query(lead_pk(lead), items.sk.startswith(CLAIM_PREFIX)):
                    found.append(
                        Claim(
                            lead,
                            i.device_lead,
                            i.source_id,
                            Rank(int(i.rank)),
                            i.call,
                            i.named_by,
                            moment(i.at),  # type: ignore[arg-type]
                            moment(i.confirmed_at),
                        )
                    )
        return sorted(found, key=lambda c: c.at)
