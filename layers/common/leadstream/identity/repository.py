"""Data access for identity: identifier links, the merge marker on a lead, and contact profiles.

LeadsTable:
  ID#<kind>:<hash> / LINK   identifier -> lead id (e-mails and user ids are hashed)
  LEAD#<id> / PROFILE       contact details (cold: changes on identify only)
  LEAD#<id> / STATE         `merged_into` only (the rest of STATE is scoring's)
"""

from collections.abc import Iterable
from datetime import datetime

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute

from leadstream.identity.identifiers import Identifier
from leadstream.identity.profile import Profile
from leadstream.platform.dynamo import Item, bind, mapped_errors, save_unless, timestamp, update_unless

LINK_SK = "LINK"
PROFILE_SK = "PROFILE"
STATE_SK = "STATE"


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def link_pk(ident: Identifier) -> str:
    return f"ID#{ident.key}"


class LinkItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    linked_at = NumberAttribute()


class MergeMarkItem(Item):
    """The part of a lead's STATE item identity writes: which lead absorbed it."""

    class Meta:
        abstract = True

    merged_into = UnicodeAttribute(null=True)
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
    email_kind = UnicodeAttribute(null=True)
    identified_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


class IdentityRepository:
    def __init__(self, leads_table: str) -> None:
        self.links = bind(LinkItem, leads_table)
        self.marks = bind(MergeMarkItem, leads_table)

    def linked(self, ids: Iterable[Identifier]) -> dict[str, str]:
        """identifier key -> lead id, for those of `ids` that are linked (one BatchGetItem)."""
        with mapped_errors("resolving identity"):
            return {
                link.pk.removeprefix("ID#"): link.lead_id
                for link in self.links.batch_get([(link_pk(i), LINK_SK) for i in ids])
            }

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
        return Profile(
            lead_id=lead_id,
            email=item.email,
            name=item.name,
            title=item.title,
            company=item.company,
            phone=item.phone,
            account=item.account,
            email_kind=item.email_kind,
        )
