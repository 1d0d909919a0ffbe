"""Data access for identity: identifier links, the merge marker on a lead, and contact profiles.

LeadsTable:
  ID#<kind>:<hash> / LINK   identifier -> lead id (e-mails and user ids are hashed)
  LEAD#<id> / PROFILE       contact details (cold: changes on identify only)
  LEAD#<id> / STATE         `merged_into`, and on a device's own lead `handed`: its hand-overs to other
                            people, [{at: since when stored, to: lead}] oldest first (the rest is scoring's)
  LEAD#<id> / MEMBERS       a root's `members`: the leads merged into it (each points at it directly)
  LEAD#<id> / MERGE#<lead>  why and when `lead` was merged into this one, and from which source; what
                            undoing it needs (the links the call made, the members that came along),
                            and once undone, when, by whom and why
  LEAD#<id> / HELD#<device lead>   a device handed over to this lead (`at`: since when), so that privacy
                            finds the device's events that are this person's
  LEAD#<id> / LINKED#<kind>:<hash>   an identifier that belongs to the lead (linked, or the lead's own):
                            lets privacy find a person's identifiers without a scan
  SUPPRESS#<keyed hash> / SUPPRESS   an erased person's identifier (privacy writes it; read here, in the
                            same BatchGetItem as the links)
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import PynamoDBException

from leadstream.identity.identifiers import Identifier, IdKind
from leadstream.identity.merges import Merge, Undone
from leadstream.identity.profile import Profile
from leadstream.identity.resolution import Handed
from leadstream.platform import aws
from leadstream.platform.dynamo import (
    Item,
    bind,
    is_condition_failure,
    mapped_errors,
    moment,
    save_unless,
    timestamp,
    transact,
    update_unless,
)
from leadstream.platform.errors import StoreUnavailable
from leadstream.scoring.repository import LISTING_KEYS

LINK_SK = "LINK"
LINKED_PREFIX = "LINKED#"
SUPPRESS_PREFIX = "SUPPRESS#"
SUPPRESS_SK = "SUPPRESS"
PROFILE_SK = "PROFILE"
STATE_SK = "STATE"
MERGE_PREFIX = "MERGE#"
MEMBERS_SK = "MEMBERS"
HELD_PREFIX = "HELD#"
MERGE_UPDATE = (
    "SET merged_into = :into, version = if_not_exists(version, :no) + :one "
    # a merged lead neither changes stage nor expires, and no list shows it (scoring's index keys go)
    f"REMOVE transition_to, transitions, expires_at, {', '.join(LISTING_KEYS)}"
)
UNMERGE_UPDATE = "REMOVE merged_into SET version = if_not_exists(version, :no) + :one"
# a transaction that lost to another writer: nothing was written, re-read and decide again
LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def link_pk(ident: Identifier) -> str:
    return f"ID#{ident.key}"


def suppress_pk(keyed_hash: str) -> str:
    return SUPPRESS_PREFIX + keyed_hash


class LinkedItem(Item):
    """LEAD#<id> / LINKED#<identifier key>: the lead's record of an identifier that belongs to it."""

    class Meta:
        abstract = True

    linked_at = NumberAttribute()


class LinkItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute(null=True)  # null only on SUPPRESS, STATE, MEMBERS items read with links
    linked_at = NumberAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)  # STATE items read in the same BatchGetItem
    members = UnicodeSetAttribute(null=True)  # MEMBERS items read in the same BatchGetItem
    handed = ListAttribute[dict[str, Any]](null=True)  # STATE: a device lead's hand-overs


class MergeMarkItem(Item):
    """The part of a lead's STATE item identity writes: which lead absorbed it (and so that it no longer
    expires on its own: its items live as long as the lead that absorbed it). Read with it, the lead's
    MEMBERS item: the leads merged into it."""

    class Meta:
        abstract = True

    merged_into = UnicodeAttribute(null=True)
    members = UnicodeSetAttribute(null=True)  # MEMBERS only
    expires_at = TTLAttribute(null=True)
    version = NumberAttribute(null=True)
    transition_to = UnicodeAttribute(null=True)
    transitions = ListAttribute[dict[str, object]](null=True)
    list_stage = UnicodeAttribute(null=True)  # scoring's index keys (LISTING_KEYS): a merge removes them
    list_owner = UnicodeAttribute(null=True)


class MergeItem(Item):
    """LEAD#<root> / MERGE#<lead>: why `lead` was merged into the root (no personal data)."""

    class Meta:
        abstract = True

    cause = UnicodeAttribute()
    call = UnicodeAttribute()
    source_id = UnicodeAttribute(null=True)
    merged_at = NumberAttribute()
    links = UnicodeSetAttribute(null=True)  # identifier keys (hashes) the call linked away from the lead
    members = UnicodeSetAttribute(null=True)  # lead ids that came along
    undoable = BooleanAttribute(null=True)  # absent on records written before the two above
    undone_at = NumberAttribute(null=True)
    undone_by = UnicodeAttribute(null=True)
    undo_reason = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Mark:
    """A lead's place in the forest: the lead it was merged into (None for a root), and its members."""

    merged_into: str | None = None
    members: frozenset[str] = frozenset()
    handed: Handed = ()  # a device lead's hand-overs (since when stored, to which lead), oldest first


@dataclass(frozen=True)
class LookUp:
    linked: dict[str, str]  # identifier key -> lead, for those linked
    suppressed: bool  # one of the keyed hashes asked about is an erased person's
    marks: dict[str, Mark]  # lead -> its mark, for the leads asked about


class ProfileItem(Item):
    class Meta:
        abstract = True

    email = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    accounts = UnicodeSetAttribute(null=True)  # every account the lead joined (privacy finds memberships)
    email_kind = UnicodeAttribute(null=True)
    identified_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


class IdentityRepository:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.links = bind(LinkItem, leads_table)
        self.marks_model = bind(MergeMarkItem, leads_table)
        self.records = bind(LinkedItem, leads_table)
        self.history = bind(MergeItem, leads_table)

    def linked(self, ids: Iterable[Identifier]) -> dict[str, str]:
        """identifier key -> lead id, for those of `ids` that are linked (one BatchGetItem)."""
        return self.linked_unless_suppressed(ids, [])[0]

    def linked_unless_suppressed(
        self, ids: Iterable[Identifier], keyed_hashes: Iterable[str]
    ) -> tuple[dict[str, str], bool]:
        """(identifier key -> lead id for those linked, whether any of `keyed_hashes` is suppressed): the
        links and the suppression entries in one BatchGetItem."""
        found = self.look_up(ids, keyed_hashes, [])
        return found.linked, found.suppressed

    def look_up(
        self, ids: Iterable[Identifier], keyed_hashes: Iterable[str], leads: Iterable[str]
    ) -> "LookUp":
        """The links of `ids`, whether any of `keyed_hashes` is suppressed, and the marks of `leads`: one
        strongly consistent BatchGetItem."""
        wanted = set(leads)
        keys = [(link_pk(i), LINK_SK) for i in ids] + [(suppress_pk(h), SUPPRESS_SK) for h in keyed_hashes]
        keys += [(lead_pk(lead), sk) for lead in wanted for sk in (STATE_SK, MEMBERS_SK)]
        with mapped_errors("resolving identity"):
            found = list(self.links.batch_get(keys, consistent_read=True)) if keys else []
        links = {i.pk.removeprefix("ID#"): i.lead_id for i in found if i.pk.startswith("ID#") and i.lead_id}
        merged = {i.pk: i.merged_into for i in found if i.sk == STATE_SK and i.merged_into}
        members = {i.pk: frozenset(i.members) for i in found if i.sk == MEMBERS_SK and i.members}
        handed = {i.pk: handed_of(i.handed) for i in found if i.sk == STATE_SK and i.handed}
        marks = {
            lead: Mark(
                merged.get(lead_pk(lead)),
                members.get(lead_pk(lead), frozenset()),
                handed.get(lead_pk(lead), ()),
            )
            for lead in wanted
        }
        return LookUp(links, any(i.pk.startswith(SUPPRESS_PREFIX) for i in found), marks)

    def remember(self, lead_id: str, ids: Iterable[Identifier], now: datetime) -> None:
        """Record on the lead the identifiers that belong to it (LINKED# items, written again harmlessly)."""
        with mapped_errors("recording linked identifiers"), self.records.batch_write() as batch:
            for ident in {i.key: i for i in ids}.values():
                batch.save(
                    self.records(lead_pk(lead_id), LINKED_PREFIX + ident.key, linked_at=timestamp(now))
                )

    def link(self, ident: Identifier, lead_id: str, now: datetime) -> bool:
        """Link an identifier to a lead unless it is linked already (the first link stays)."""
        item = self.links(link_pk(ident), LINK_SK, lead_id=lead_id, linked_at=timestamp(now))
        return save_unless(item, self.links.pk.does_not_exist(), "linking an identifier")

    def known_kinds(self, root: str) -> frozenset[IdKind]:
        """The kinds of known identifier (user id, e-mail) recorded on a root or on the leads merged into
        it (their LINKED# records): one Query of the root's LINKED# records and MEMBERS item, then one per
        member until both kinds are found."""
        wanted = {IdKind.USER, IdKind.EMAIL}
        kinds: set[IdKind] = set()
        keys, members = self._records(root, MEMBERS_SK)
        for lead in members:
            if {IdKind(k.partition(":")[0]) for k in keys} >= wanted:
                break
            keys += self._records(lead, LINKED_PREFIX + "~")[0]
        kinds = {IdKind(k.partition(":")[0]) for k in keys}
        return frozenset(kinds & wanted)

    def _records(self, lead: str, last: str) -> tuple[list[str], list[str]]:
        """(the identifier keys of a lead's LINKED# records, its members if `last` reaches MEMBERS)."""
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": lead_pk(lead)},
                ":first": {"S": LINKED_PREFIX},
                ":last": {"S": last},
            },
            "ProjectionExpression": "sk, members",
            "ConsistentRead": True,
        }
        keys: list[str] = []
        members: list[str] = []
        client = aws.client("dynamodb")
        while True:
            try:
                page = client.query(**params)
            except (BotoCoreError, ClientError) as exc:
                raise StoreUnavailable(f"reading identifier records failed ({type(exc).__name__})") from exc
            for item in page.get("Items", []):
                if item["sk"]["S"] == MEMBERS_SK:
                    members += item.get("members", {}).get("SS", [])
                else:
                    keys.append(item["sk"]["S"].removeprefix(LINKED_PREFIX))
            if "LastEvaluatedKey" not in page:
                return keys, members
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def hand_over(self, device: str, to: str, since: datetime, handed: Handed) -> bool:
        """Count a device's events stored from `since` on for the lead `to`, in one transaction: the lead
        records the device (HELD#), and the device lead's STATE gains the hand-over, only while it still
        has the hand-overs `handed` that were read (its version moves: a scoring write read before fails
        and reads again). False (nothing written) when another call changed them first: re-read."""
        at = timestamp(since)
        entries = [*handed, (at, to)]
        values: dict[str, Any] = {
            ":handed": {"L": [{"M": {"at": {"N": str(a)}, "to": {"S": lead}}} for a, lead in entries]},
            ":no": {"N": "0"},
            ":one": {"N": "1"},
        }
        if handed:
            values[":seen"] = {"N": str(len(handed))}
        held = {**_key(to, HELD_PREFIX + device), "at": {"N": str(at)}}
        seen = "size(handed) = :seen" if handed else "attribute_not_exists(handed)"
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": held}},
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(device, STATE_SK),
                    "UpdateExpression": "SET handed = :handed, version = if_not_exists(version, :no) + :one",
                    "ConditionExpression": seen,
                    "ExpressionAttributeValues": values,
                }
            },
        ]
        return transact(actions, "handing a device over", LOST_RACE)

    def marks(self, leads: Iterable[str]) -> dict[str, Mark]:
        """lead -> its mark (merged_into and members), for each of `leads`: one strongly consistent
        BatchGetItem of their STATE and MEMBERS items."""
        return self.look_up([], [], leads).marks

    def merges(self, lead_id: str) -> list[Merge]:
        """The merges into a lead, as their records say (one Query of its partition's MERGE# items)."""
        model = self.history
        with mapped_errors("reading merges"):
            found = list(
                model.query(lead_pk(lead_id), model.sk.startswith(MERGE_PREFIX), consistent_read=True)
            )
        return [_merge(i) for i in found]

    def merge_record(self, into: str, lead_id: str) -> Merge | None:
        """The record of `lead_id`'s merge into `into`, if there is one."""
        model = self.history
        with mapped_errors("reading a merge"):
            try:
                return _merge(model.get(lead_pk(into), MERGE_PREFIX + lead_id, consistent_read=True))
            except model.DoesNotExist:
                return None

    def merge(self, root: str, into: str, why: Merge | None = None) -> bool:
        """Merge a root into another root, in one transaction: `root` is marked merged unless it already
        is, only while `into` is still a root, and `into` records it as a member (and `why`, if given).
        False (nothing written)
        when either was merged meanwhile or another writer got there first: re-read and decide again."""
        if root == into:
            raise ValueError("a lead cannot be merged into itself")
        table = self.table
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(root, STATE_SK),
                    "UpdateExpression": MERGE_UPDATE,
                    "ConditionExpression": "attribute_not_exists(merged_into)",
                    "ExpressionAttributeValues": {
                        ":into": {"S": into},
                        ":no": {"N": "0"},
                        ":one": {"N": "1"},
                    },
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key(into, STATE_SK),
                    "ConditionExpression": "attribute_not_exists(merged_into)",
                }
            },
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(into, MEMBERS_SK),
                    "UpdateExpression": "ADD members :root",
                    "ExpressionAttributeValues": {":root": {"SS": [root]}},
                }
            },
        ]
        if why is not None:
            record = self.history(
                lead_pk(into),
                MERGE_PREFIX + root,
                cause=why.cause,
                call=why.call,
                source_id=why.source_id,
                merged_at=timestamp(why.at),
                links=set(why.links) or None,
                members=set(why.members) or None,
                undoable=why.undoable or None,
            )
            actions.append({"Put": {"TableName": table, "Item": record.serialize()}})
        if why is not None and why.undoable:  # the members recorded are all of them: a root's only grow
            actions.append({"ConditionCheck": _members_are(root, len(why.members), table)})
        return transact(actions, "merging leads", LOST_RACE)

    def move(self, member: str, parent: str, root: str) -> None:
        """Point a merged lead at the root above its parent (path compression), recorded on the root first
        and removed from the parent last, so a failure part-way leaves it findable. A lead that no longer
        points at `parent` was moved by someone else: left as it is."""
        marks = self.marks_model
        with mapped_errors("moving a merged lead"):
            marks(lead_pk(root), MEMBERS_SK).update(actions=[marks.members.add({member})])
        update_unless(
            marks(lead_pk(member), STATE_SK),
            [marks.merged_into.set(root)],
            marks.merged_into == parent,
            "moving a merged lead",
        )
        with mapped_errors("moving a merged lead"):
            marks(lead_pk(parent), MEMBERS_SK).update(actions=[marks.members.delete({member})])

    def mark_merged(self, lead_id: str, into: str) -> None:
        """Point a lead at the lead that absorbs it. The first mark wins; STATE is created if needed."""
        marks = self.marks_model
        update_unless(
            marks(lead_pk(lead_id), STATE_SK),
            [
                marks.merged_into.set(into),
                marks.version.set((marks.version | 0) + 1),
                marks.transition_to.remove(),
                marks.transitions.remove(),
                marks.expires_at.remove(),
                *(getattr(marks, key).remove() for key in LISTING_KEYS),
            ],
            marks.merged_into.does_not_exist(),
            "marking a merged lead",
        )

    # --- undoing a merge (`identity.unmerge`) ------------------------------------------------------------

    def unlink(self, key: str, lead_id: str) -> bool:
        """Remove an identifier's link (by its key) and the lead's record of it, if the link still names
        `lead_id`. False when it names another lead (or none): left as it is."""
        links = self.links
        try:
            links(f"ID#{key}", LINK_SK).delete(condition=links.lead_id == lead_id)
        except PynamoDBException as exc:
            if is_condition_failure(exc):
                return False
            raise StoreUnavailable(f"removing a link failed ({exc.cause_response_code})") from exc
        with mapped_errors("removing a linked identifier record"):
            self.records(lead_pk(lead_id), LINKED_PREFIX + key).delete()
        return True

    def restore(self, lead_id: str, parent: str | None, members: dict[str, str]) -> bool:
        """Make a merged lead a root again with its members back under it, in one transaction: its STATE
        loses `merged_into` (only while it names `parent`; its version goes up, so a scoring write read
        before fails and retries), each member (member -> the lead it points at now) points at it again
        (only while it points there), and the MEMBERS items follow. `parent` None: the lead is a root
        already, only the members move. False (nothing written) when any of them moved meanwhile."""
        table = self.table
        actions: list[dict[str, Any]] = []
        if parent is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(lead_id, STATE_SK),
                        "UpdateExpression": UNMERGE_UPDATE,
                        "ConditionExpression": "merged_into = :parent",
                        "ExpressionAttributeValues": {
                            ":parent": {"S": parent},
                            ":no": {"N": "0"},
                            ":one": {"N": "1"},
                        },
                    }
                }
            )
        leaving: dict[str, list[str]] = {parent: [lead_id]} if parent is not None else {}
        for member, at in members.items():
            leaving.setdefault(at, []).append(member)
            actions.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(member, STATE_SK),
                        "UpdateExpression": "SET merged_into = :lead",
                        "ConditionExpression": "merged_into = :at",
                        "ExpressionAttributeValues": {":lead": {"S": lead_id}, ":at": {"S": at}},
                    }
                }
            )
        if members:
            actions.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(lead_id, MEMBERS_SK),
                        "UpdateExpression": "ADD members :members",
                        "ExpressionAttributeValues": {":members": {"SS": sorted(members)}},
                    }
                }
            )
        actions += [
            {
                "Update": {
                    "TableName": table,
                    "Key": _key(at, MEMBERS_SK),
                    "UpdateExpression": "DELETE members :leads",
                    "ExpressionAttributeValues": {":leads": {"SS": sorted(leads)}},
                }
            }
            for at, leads in leaving.items()
        ]
        return transact(actions, "restoring a merged lead", LOST_RACE) if actions else True

    def mark_undone(self, into: str, lead_id: str, undone: Undone) -> bool:
        """Record on the merge's record that it was undone. False if there is no such record."""
        model = self.history
        return update_unless(
            model(lead_pk(into), MERGE_PREFIX + lead_id),
            [
                model.undone_at.set(round(undone.at.timestamp(), 3)),
                model.undone_by.set(undone.by),
                model.undo_reason.set(undone.reason),
            ],
            model.pk.exists(),
            "recording an unmerge",
        )


def handed_of(raw: Iterable[Any] | None) -> Handed:
    """A STATE's `handed` as read (each {at, to}) as (since, lead) pairs, oldest first."""
    return tuple((float(h["at"]), str(h["to"])) for h in raw or ())


def _key(lead_id: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": lead_pk(lead_id)}, "sk": {"S": sk}}


def _members_are(lead_id: str, count: int, table: str) -> dict[str, Any]:
    """A ConditionCheck that a lead's MEMBERS hold `count` leads (none: no such attribute)."""
    check: dict[str, Any] = {"TableName": table, "Key": _key(lead_id, MEMBERS_SK)}
    if count == 0:
        check["ConditionExpression"] = "attribute_not_exists(members)"
    else:
        check["ConditionExpression"] = "size(members) = :count"
        check["ExpressionAttributeValues"] = {":count": {"N": str(count)}}
    return check


def _merge(item: MergeItem) -> Merge:
    undone = (
        Undone(moment(item.undone_at), item.undone_by or "", item.undo_reason or "")  # type: ignore[arg-type]
        if item.undone_at is not None
        else None
    )
    return Merge(
        lead_id=item.sk.removeprefix(MERGE_PREFIX),
        into=item.pk.removeprefix("LEAD#"),
        cause=item.cause,
        call=item.call,
        source_id=item.source_id,
        at=moment(item.merged_at),  # type: ignore[arg-type]
        links=tuple(sorted(item.links or ())),
        members=tuple(sorted(item.members or ())),
        undoable=bool(item.undoable),
        undone=undone,
    )


class ProfileRepository:
    def __init__(self, leads_table: str) -> None:
        self.items = bind(ProfileItem, leads_table)

    def save(self, profile: Profile, now: datetime) -> None:
        """Set the given contact details (missing ones are left as they were)."""
        items = self.items
        values = {
            "email": profile.email,
            "name": profile.name,
            "title": profile.title,
            "company": profile.company,
            "phone": profile.phone,
            "account": profile.account,
            "email_kind": profile.email_kind,
        }
        actions = [getattr(items, k).set(v) for k, v in values.items() if v is not None]
        if profile.account:
            actions.append(items.accounts.add({profile.account}))
        stamp = now.timestamp()
        actions.append(items.updated_at.set(stamp))
        actions.append(items.identified_at.set(items.identified_at | stamp))
        with mapped_errors("saving a profile"):
            items(lead_pk(profile.lead_id), PROFILE_SK).update(actions=actions)

    def load(self, lead_id: str) -> Profile | None:
        with mapped_errors("reading a profile"):
            try:
                item = self.items.get(lead_pk(lead_id), PROFILE_SK)
            except self.items.DoesNotExist:
                return None
        return _profile(item)

    def load_many(self, lead_ids: Iterable[str]) -> dict[str, Profile]:
        """lead -> its profile, for those of `lead_ids` that have one: BatchGetItem requests of 100."""
        keys = [(lead_pk(lead), PROFILE_SK) for lead in dict.fromkeys(lead_ids)]
        with mapped_errors("reading profiles"):
            found = list(self.items.batch_get(keys)) if keys else []
        return {item.pk.removeprefix("LEAD#"): _profile(item) for item in found}

    def from_image(self, image: dict[str, Any]) -> Profile:
        """A PROFILE item in DynamoDB JSON (as BatchGetItem returns it)."""
        return _profile(self.items.from_raw_data(image))


def _profile(item: ProfileItem) -> Profile:
    return Profile(
        lead_id=item.pk.removeprefix("LEAD#"),
        email=item.email,
        name=item.name,
        title=item.title,
        company=item.company,
        phone=item.phone,
        account=item.account,
        email_kind=item.email_kind,
    )
