"""Data access for identity: identifier links, the merge marker on a lead, and contact profiles.

LeadsTable:
  ID#<kind>:<hash> / LINK   identifier -> lead id (e-mails and user ids are hashed)
  LEAD#<id> / PROFILE       contact details (cold: changes on identify only)
  LEAD#<id> / STATE         `merged_into` only (the rest of STATE is scoring's)
  LEAD#<id> / LINKED#<kind>:<hash>   an identifier that belongs to the lead (linked, or the lead's own):
                            lets privacy find a person's identifiers without a scan
  SUPPRESS#<keyed hash> / SUPPRESS   an erased person's identifier (privacy writes it; read here, in the
                            same BatchGetItem as the links)
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from leadstream.identity.identifiers import Identifier
from leadstream.identity.profile import Profile
from leadstream.platform.dynamo import Item, bind, mapped_errors, save_unless, timestamp, update_unless

LINK_SK = "LINK"
LINKED_PREFIX = "LINKED#"
SUPPRESS_PREFIX = "SUPPRESS#"
SUPPRESS_SK = "SUPPRESS"
PROFILE_SK = "PROFILE"
STATE_SK = "STATE"


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

    lead_id = UnicodeAttribute(null=True)  # null only on SUPPRESS items read in the same BatchGetItem
    linked_at = NumberAttribute(null=True)


class MergeMarkItem(Item):
    """The part of a lead's STATE item identity writes: which lead absorbed it (and so that it no longer
    expires on its own: its items live as long as the lead that absorbed it)."""

    class Meta:
        abstract = True

    merged_into = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    version = NumberAttribute(null=True)
    transition_to = UnicodeAttribute(null=True)
    transitions = ListAttribute[dict[str, object]](null=True)


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
        self.links = bind(LinkItem, leads_table)
        self.marks = bind(MergeMarkItem, leads_table)
        self.records = bind(LinkedItem, leads_table)

    def linked(self, ids: Iterable[Identifier]) -> dict[str, str]:
        """identifier key -> lead id, for those of `ids` that are linked (one BatchGetItem)."""
        return self.linked_unless_suppressed(ids, [])[0]

    def linked_unless_suppressed(
        self, ids: Iterable[Identifier], keyed_hashes: Iterable[str]
    ) -> tuple[dict[str, str], bool]:
        """(identifier key -> lead id for those linked, whether any of `keyed_hashes` is suppressed): the
        links and the suppression entries in one BatchGetItem."""
        keys = [(link_pk(i), LINK_SK) for i in ids] + [(suppress_pk(h), SUPPRESS_SK) for h in keyed_hashes]
        with mapped_errors("resolving identity"):
            found = list(self.links.batch_get(keys))
        links = {i.pk.removeprefix("ID#"): i.lead_id for i in found if i.pk.startswith("ID#") and i.lead_id}
        return links, any(i.pk.startswith(SUPPRESS_PREFIX) for i in found)

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

    def mark_merged(self, lead_id: str, into: str) -> None:
        """Point a lead at the lead that absorbs it. The first mark wins; STATE is created if needed."""
        marks = self.marks
        update_unless(
            marks(lead_pk(lead_id), STATE_SK),
            [
                marks.merged_into.set(into),
                marks.version.set((marks.version | 0) + 1),
                marks.transition_to.remove(),
                marks.transitions.remove(),
                marks.expires_at.remove(),
            ],
            marks.merged_into.does_not_exist(),
            "marking a merged lead",
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
