"""Data access for owners (AccountsTable) and the sales audit trail (LeadsTable).

ACCOUNT#<domain> / PROFILE    the account's `owner` (a sales user's e-mail) and `owner_at`, set by
                              `python -m cli accounts owner`; its `country` (a group call's trait)
TEAM#<name> / RR              a team's round-robin counter: `turns`, an atomic ADD per lead assigned
LEAD#<id> / AUDIT#<ms>#<id>   who did what to a lead through the sales API: `id`, `action`, `by`, `at`,
                              `outcome`, `request_id` (the shape of the workflow's audit records);
                              written in the transaction of the change
"""

from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from leadstream.platform.dynamo import Item, bind, mapped_errors, timestamp, update_unless

PROFILE_SK = "PROFILE"
COUNTER_SK = "RR"
AUDIT_PREFIX = "AUDIT#"


class AccountOwnerItem(Item):
    """The sales side's attributes of an account's PROFILE (the rest is the accounts context's)."""

    class Meta:
        abstract = True

    owner = UnicodeAttribute(null=True)
    owner_at = NumberAttribute(null=True)
    country = UnicodeAttribute(null=True)


class TeamCounterItem(Item):
    class Meta:
        abstract = True

    turns = NumberAttribute(null=True)


class AuditItem(Item):
    class Meta:
        abstract = True

    id = UnicodeAttribute()
    action = UnicodeAttribute()
    by = UnicodeAttribute()  # the user's e-mail (personal data: stored, never logged)
    at = NumberAttribute()
    outcome = UnicodeAttribute()  # what it changed
    request_id = UnicodeAttribute(null=True)


class Owners:
    def __init__(self, accounts_table: str) -> None:
        self.accounts = bind(AccountOwnerItem, accounts_table)
        self.counters = bind(TeamCounterItem, accounts_table)

    def of_account(self, domain: str | None) -> tuple[str | None, str | None]:
        """(owner, country) of an account (one GetItem of its PROFILE); (None, None) without one."""
        if not domain:
            return None, None
        with mapped_errors("reading an account's owner"):
            try:
                item = self.accounts.get(f"ACCOUNT#{domain}", PROFILE_SK)
            except self.accounts.DoesNotExist:
                return None, None
        return item.owner, item.country

    def set_account_owner(self, domain: str, owner: str, now: datetime) -> bool:
        """The account's owner from now on; False if Leadstream holds no such account."""
        model = self.accounts
        actions = [model.owner.set(owner), model.owner_at.set(round(now.timestamp(), 3))]
        return update_unless(
            model(f"ACCOUNT#{domain}", PROFILE_SK), actions, model.pk.exists(), "setting an owner"
        )

    def turn(self, team: str) -> int:
        """The team's next turn (1, 2, 3, ...): one atomic ADD, so concurrent assignments each get one."""
        model = self.counters
        item = model(f"TEAM#{team}", COUNTER_SK)
        with mapped_errors("taking a team's turn"):
            item.update(actions=[model.turns.add(1)])
        return int(item.turns or 0)


class AuditTrail:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.items = bind(AuditItem, leads_table)

    def put(
        self, lead_id: str, entry_id: str, action: str, by: str, at: datetime, outcome: str
    ) -> dict[str, Any]:
        """The TransactWriteItems action that records an action on a lead, with the write it made."""
        item = self.items(
            f"LEAD#{lead_id}",
            f"{AUDIT_PREFIX}{round(at.timestamp() * 1000):015d}#{entry_id}",
            id=entry_id,
            action=action,
            by=by,
            at=timestamp(at),
            outcome=outcome,
        )
        return {
            "Put": {
                "TableName": self.table,
                "Item": item.serialize(),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
