"""Data access for accounts (AccountsTable, pk/sk strings).

ACCOUNT#<domain> / PROFILE     the organisation
ACCOUNT#<domain> / LEAD#<id>   membership
"""

from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from leadstream.platform.dynamo import Item, bind, mapped_errors, save_unless, timestamp

PROFILE_SK = "PROFILE"


def account_pk(domain: str) -> str:
    return f"ACCOUNT#{domain}"


class AccountItem(Item):
    class Meta:
        abstract = True

    domain = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    industry = UnicodeAttribute(null=True)
    employees = UnicodeAttribute(null=True)
    website = UnicodeAttribute(null=True)
    group_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


class MemberItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    joined_at = NumberAttribute()


class AccountRepository:
    def __init__(self, accounts_table: str) -> None:
        self.accounts = bind(AccountItem, accounts_table)
        self.members = bind(MemberItem, accounts_table)

    def join(self, domain: str, lead_id: str, company: str | None, now: datetime) -> None:
        """The lead becomes a member of the account, which is created (named) if it is new."""
        account = self.accounts(
            account_pk(domain), PROFILE_SK, domain=domain, name=company or domain, created_at=timestamp(now)
        )
        save_unless(account, self.accounts.pk.does_not_exist(), "creating an account")
        member = self.members(
            account_pk(domain), f"LEAD#{lead_id}", lead_id=lead_id, joined_at=timestamp(now)
        )
        save_unless(member, self.members.pk.does_not_exist(), "adding an account member")

    def describe(self, domain: str, traits: dict[str, str], now: datetime) -> None:
        """Set an account's traits (from a group call); the ones not given are left as they were."""
        accounts = self.accounts
        actions: list[Any] = [accounts.domain.set(domain), accounts.updated_at.set(now.timestamp())]
        actions += [getattr(accounts, k).set(v) for k, v in traits.items() if v]
        with mapped_errors("saving an account"):
            accounts(account_pk(domain), PROFILE_SK).update(actions=actions)
