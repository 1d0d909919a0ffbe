"""A lead's contact details: what sales reads on the LeadCard. Personal data: stored, never logged."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    lead_id: str
    email: str | None = None
    name: str | None = None
    title: str | None = None
    company: str | None = None
    phone: str | None = None
    account: str | None = None  # the organisation's domain (AccountsTable)
    email_kind: str | None = None
