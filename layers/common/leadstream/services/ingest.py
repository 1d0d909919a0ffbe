"""Recording what visitors do: tracking calls and form submissions become stored behaviour events."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import SplitResult, parse_qsl, urlsplit

from leadstream.contracts.api import Contact, FormSubmission, Message
from leadstream.domain.attribution import Touch, classify
from leadstream.domain.events import BehaviourEvent, EventType
from leadstream.domain.identity import (
    Identifier,
    IdKind,
    device_lead,
    email_kind,
    identifiers,
    normalise_email,
    organisation_domain,
)
from leadstream.store import LeadRepository, Profile, event_expiry


@dataclass(frozen=True)
class Recorded:
    lead_id: str
    stored: bool  # False when the message was a retry of one already stored


def _content_id(prefix: str, payload: object) -> str:
    """A stable message id for callers that send none, so that their retries still dedupe."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return f"{prefix}-{hashlib.blake2b(body, digest_size=16).hexdigest()}"


def _text(properties: dict[str, object], key: str) -> str | None:
    """A page property as a string; SDKs send anything, and only strings mean something here."""
    value = properties.get(key)
    return value if isinstance(value, str) and value else None


def _split(url: str | None) -> SplitResult | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError for a malformed host such as "http://[oops"
    except ValueError:
        return None
    return parts


def _page_touch(msg: Message) -> tuple[str | None, Touch]:
    page = msg.context.page
    props = msg.properties
    parts = _split(page.url or _text(props, "url"))
    path = page.path or _text(props, "path") or (parts.path if parts else None) or None
    search = page.search or _text(props, "search") or ""
    query = dict(parse_qsl((parts.query if parts else "") or search.lstrip("?")))
    campaign = dict(msg.context.campaign)
    for key, value in query.items():
        if key.startswith("utm_"):
            campaign.setdefault(key.removeprefix("utm_"), value)
    referrer = page.referrer or _text(props, "referrer")
    touch = classify(campaign, query, referrer, parts.hostname if parts else None, path)
    return (path[:512] if path else None), touch


@dataclass(frozen=True)
class Ingest:
    repo: LeadRepository
    event_ttl_days: int

    def message(self, msg: Message, received_at: datetime) -> Recorded:
        at = min(msg.timestamp or received_at, received_at)
        message_id = msg.message_id or _content_id("msg", msg.model_dump(mode="json", by_alias=True))
        email = (
            normalise_email(str(msg.traits.email)) if msg.type == "identify" and msg.traits.email else None
        )
        ids = identifiers(msg.anonymous_id, msg.user_id, email)
        lead_id = self._lead_of(ids, received_at)
        fit: dict[str, str] = {}
        if msg.type == "identify":
            fit = self._identify(lead_id, email, msg.traits, received_at)
        path, touch = _page_touch(msg) if msg.type == "page" else (None, None)
        event = BehaviourEvent(
            message_id=message_id,
            type=EventType(msg.type),
            at=at,
            name=msg.event if msg.type == "track" else msg.name,
            path=path,
            fit_traits=fit,
            touch=touch,
        )
        return self._store(ids, event, received_at, lead_id)

    def form(self, form_id: str, sub: FormSubmission, received_at: datetime) -> Recorded:
        email = normalise_email(str(sub.email))
        ids = identifiers(sub.anonymous_id, None, email)
        lead_id = self._lead_of(ids, received_at)
        fit = self._identify(lead_id, email, sub, received_at)
        content = sub.model_dump(mode="json", exclude={"next", "message_id"})
        event = BehaviourEvent(
            message_id=sub.message_id or _content_id(f"form-{form_id}", content),
            type=EventType.FORM,
            at=received_at,
            form_id=form_id,
            path=sub.page_path,
            fit_traits=fit,
        )
        return self._store(ids, event, received_at, lead_id)

    def _lead_of(self, ids: list[Identifier], now: datetime) -> str:
        """The lead a message belongs to. Only a message with a known identifier (user id, e-mail) needs a
        look-up; linking it may hand the visitor's own lead over to a known one (marked merged) before
        the event is stored, so scoring forwards it."""
        if all(i.kind is IdKind.ANONYMOUS for i in ids):
            return device_lead(ids)
        resolution = self.repo.resolve(ids)
        self.repo.link(resolution.unlinked, resolution.lead_id, now)
        return resolution.lead_id

    def _store(self, ids: list[Identifier], event: BehaviourEvent, now: datetime, lead_id: str) -> Recorded:
        # Stored under the sender's own lead: a retry lands on the same key whatever was linked meanwhile.
        stored = self.repo.record_event(device_lead(ids), event, event_expiry(now, self.event_ttl_days))
        return Recorded(lead_id, stored)

    def _identify(self, lead_id: str, email: str | None, contact: Contact, now: datetime) -> dict[str, str]:
        """Save contact details and the account; return the non-personal traits scoring looks at."""
        account = organisation_domain(email) if email else None
        kind = email_kind(email).value if email else None
        profile = Profile(
            lead_id, email, contact.full_name, contact.title, contact.company, contact.phone, account, kind
        )
        self.repo.save_profile(profile, now)
        if account:
            self.repo.join_account(account, lead_id, contact.company, now)
        fit = {"email_kind": kind} if kind else {}
        if contact.title:
            fit["title"] = contact.title[:100]
        return fit
