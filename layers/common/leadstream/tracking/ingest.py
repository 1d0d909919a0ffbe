"""Recording what visitors do: tracking calls and form submissions become stored behaviour events."""

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import SplitResult, parse_qsl, urlsplit

from aws_lambda_powertools.metrics import MetricUnit

from leadstream.accounts.membership import Basis
from leadstream.accounts.repository import AccountRepository
from leadstream.firmographics.company import Company, CompanyResolver
from leadstream.identity.identifiers import (
    Identifier,
    IdKind,
    alias_identifiers,
    device_lead,
    email_kind,
    email_lead,
    identifiers,
    key_of,
    normalise_email,
    organisation_domain,
)
from leadstream.identity.merges import Merge, cause
from leadstream.identity.profile import Profile
from leadstream.identity.provenance import Rank, Stamp, confirmed_cause, decide, joined, refused_joins
from leadstream.identity.provenance_repository import Claim, ClaimRepository, ProvenanceRepository
from leadstream.identity.repository import IdentityRepository, Mark, ProfileRepository
from leadstream.identity.resolution import (
    MAX_ROOT_HOPS,
    Handed,
    Resolution,
    claims,
    from_device,
    head,
    known,
    resolve_on_device,
)
from leadstream.platform.errors import StoreUnavailable
from leadstream.platform.observability import logger, metrics
from leadstream.privacy.suppression import suppression_hash, suppression_hashes
from leadstream.sources.model import DEFAULT_LEAD_RETENTION_DAYS, Source, Trust, anonymise_ip
from leadstream.tracking.attribution import Channel, Touch, classify
from leadstream.tracking.events import BehaviourEvent, EventType
from leadstream.tracking.repository import EventRepository
from leadstream.tracking.segment import Contact, FormSubmission, Message, clean_text

RESOLVE_ATTEMPTS = 5  # reads and decisions per identify when concurrent calls keep changing the identity
TITLE_LIMIT = 200  # characters of a page title kept on its event (the timeline shows it)


@dataclass(frozen=True)
class Recorded:
    lead_id: str
    stored: bool  # False when the message was a retry of one already stored, or suppressed
    suppressed: bool = False  # the sender was erased (privacy): nothing was stored


def _content_id(prefix: str, payload: object) -> str:
    """A message id for callers that send none: a hash of the content and of when it happened (see
    `_message_content`), so that a retry dedupes while a real repeat later is a message of its own."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return f"{prefix}-{hashlib.blake2b(body, digest_size=16).hexdigest()}"


def _message_content(msg: Message, received_at: datetime) -> dict[str, object]:
    """What identifies a message without a messageId: everything in it but `sentAt` (a retry is sent
    later), with its device time; without one, the second it was received. The same message twice in
    one request is one; sent again later (a second identical call, or a retry of a call without
    messageId or timestamp) it is another."""
    content = msg.model_dump(mode="json", by_alias=True, exclude={"sent_at"})
    if msg.timestamp is None and msg.original_timestamp is None:
        content["receivedAt"] = received_at.replace(microsecond=0).isoformat()
    return content


def _text(properties: dict[str, object], key: str) -> str | None:
    """A page property as a string; SDKs send anything, and only strings mean something here."""
    value = properties.get(key)
    return (clean_text(value)[:2048] or None) if isinstance(value, str) else None


def _page_title(msg: Message) -> str | None:
    """A page's title as the call gives it (`properties.title`, else `context.page.title`), bounded: what the
    LeadCard's timeline shows beside the path. Cleaned text, never interpreted."""
    title = _text(msg.properties, "title") or msg.context.page.title
    return title[:TITLE_LIMIT] if title else None


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
    # percent-decoded values may hold anything (%0d%0a): cleaned like any text we keep
    query = {
        clean_text(k): clean_text(v)[:200]
        for k, v in parse_qsl((parts.query if parts else "") or search.lstrip("?"))
    }
    campaign = dict(msg.context.campaign)
    for key, value in query.items():
        if key.startswith("utm_"):
            campaign.setdefault(key.removeprefix("utm_"), value)
    referrer = page.referrer or _text(props, "referrer")
    touch = classify(campaign, query, referrer, parts.hostname if parts else None, path)
    return (path[:512] if path else None), touch


@dataclass(frozen=True)
class Request:
    """Facts about the HTTP request a message came in: who sent it, when, from where."""

    source: Source
    received_at: datetime
    ip: str | None = None
    browser: bool = False  # a browser sent it (it has an Origin): `ip` is the visitor's own

    def visitor_ip(self, given: str | None) -> str | None:
        """The visitor's address: the message's `context.ip`, else the request's when a browser sent it
        (a server-side SDK's request comes from its server, which is nobody's company)."""
        return given or (self.ip if self.browser else None)

    def expires(self) -> datetime:
        return self.source.privacy.expiry(self.received_at)

    def anonymised_ip(self, given: str | None) -> str | None:
        privacy = self.source.privacy
        return anonymise_ip(given or self.ip, privacy.ip_mode, self.source.salt)


def rank_of(source: Source, call: str) -> Rank:
    """How far a call is believed (identity.provenance): a server key's, a form's, else a browser's."""
    if source.trust is Trust.SERVER:
        return Rank.SERVER
    return Rank.FORM if call == "form" else Rank.BROWSER


def _suppressed() -> None:
    metrics.add_metric(name="MessagesSuppressed", unit=MetricUnit.Count, value=1)


class Ingest:
    """Stores what visitors do, with the repositories of the contexts it touches.

    `suppression_secret` gives the key of the suppression hashes (the stack's LinkSecret); it is called
    only for a message that carries a known identifier (user id, e-mail), whose identifiers are then
    checked against the erased ones in the same BatchGetItem that reads their links. Without it (None),
    nothing is checked."""

    def __init__(
        self,
        leads_table: str,
        accounts_table: str,
        suppression_secret: Callable[[], str] | None = None,
        lead_retention_days: int = DEFAULT_LEAD_RETENTION_DAYS,
        companies: CompanyResolver | None = None,
    ) -> None:
        """`companies` names the business behind a visitor's network (firmographics); None: off."""
        self.events = EventRepository(leads_table)
        self.identities = IdentityRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)
        self.provenance = ProvenanceRepository(leads_table)
        self.claims = ClaimRepository(leads_table)
        self.accounts = AccountRepository(accounts_table)
        self.suppression_secret = suppression_secret
        self.lead_retention_days = lead_retention_days  # the stack's, for sources without their own
        self.companies = companies
        self._named: set[str] = set()  # accounts this container named after the provider's company

    def _lead_expires(self, req: Request) -> datetime:
        return req.source.privacy.lead_expiry(req.received_at, self.lead_retention_days)

    def message(self, msg: Message, req: Request) -> Recorded:
        """One call: its event is stored once per messageId (a conditional write)."""
        lead_id, own, event = self._prepare(msg, req, {})
        if lead_id is None:
            return Recorded("", stored=False, suppressed=True)
        stored = (
            self.events.record(own, event, req.expires(), req.received_at, self._lead_expires(req))
            if event
            else True
        )
        return Recorded(lead_id, stored)

    def batch(self, messages: list[Message], req: Request) -> int:
        """Many calls: each identity resolved once per batch, events written 25 to a request."""
        events: list[tuple[str, BehaviourEvent, datetime, datetime | None]] = []
        resolved: dict[tuple[tuple[Identifier, ...], bool], tuple[str | None, bool]] = {}
        for msg in messages:
            lead_id, own, event = self._prepare(msg, req, resolved)
            if lead_id is not None and event is not None:
                events.append((own, event, req.expires(), self._lead_expires(req)))
        if events:
            self.events.record_many(events, req.received_at)
        return len(events)

    def _prepare(
        self,
        msg: Message,
        req: Request,
        resolved: dict[tuple[tuple[Identifier, ...], bool], tuple[str | None, bool]],
    ) -> tuple[str | None, str, BehaviourEvent | None]:
        """(the lead it belongs to, the sender's own lead its event is stored under, the event); the lead
        is None for a suppressed (erased) sender: nothing is stored. `resolved` remembers identities
        already looked up (and linked) in this request, and whether they were a pending claim."""
        now = req.received_at
        email = (
            normalise_email(str(msg.traits.email)) if msg.type == "identify" and msg.traits.email else None
        )
        if msg.type == "alias" and msg.previous_id and msg.user_id:
            ids = alias_identifiers(msg.previous_id, msg.user_id)
        else:
            ids = identifiers(msg.anonymous_id, msg.user_id, email)
        key = (tuple(ids), msg.type in ("identify", "group"))  # they write the profile: on the root
        rank = rank_of(req.source, msg.type)
        if key not in resolved:
            claimed: set[str] = set()
            resolved[key] = (
                self._lead_of(ids, now, key[1], msg.type, req.source.id, rank, claimed),
                bool(claimed),
            )
        lead_id, claim = resolved[key]
        own = device_lead(ids)
        if lead_id is None:
            return None, own, None
        if msg.type == "alias":
            return lead_id, own, None
        if msg.type == "group":
            domain = msg.account()
            traits = {
                "name": msg.traits.name or msg.traits.company,
                "industry": msg.traits.industry,
                "employees": str(msg.traits.employees) if msg.traits.employees is not None else None,
                "website": msg.traits.website,
                "country": msg.traits.country,
                "group_id": msg.group_id,
            }
            self.accounts.describe(domain, {k: v for k, v in traits.items() if v}, now)
            self.accounts.join(domain, lead_id, msg.traits.name, now, Basis.GROUP)
            self.profiles.save(Profile(lead_id, account=domain), now)
            return lead_id, own, None
        identify = msg.type == "identify" and not claim  # a claim's traits are not the known lead's
        fit = (
            self._identify(lead_id, email, msg.traits, Stamp(req.source.id, rank, now), "identify")
            if identify
            else {}
        )
        path, touch = _page_touch(msg) if msg.type == "page" else (None, None)
        names = {"track": msg.event, "page": msg.name, "screen": msg.name}
        event = BehaviourEvent(
            message_id=msg.message_id or _content_id("msg", _message_content(msg, now)),
            type=EventType(msg.type),
            at=msg.occurred_at(now),
            name=names.get(msg.type),
            path=path,
            title=_page_title(msg) if msg.type == "page" else None,
            fit_traits=fit,
            touch=touch,
            source_id=req.source.id,
            ip=req.anonymised_ip(msg.context.ip),
            company=self._company(req.visitor_ip(msg.context.ip), req.received_at),
        )
        return lead_id, own, event

    def form(self, form_id: str, sub: FormSubmission, req: Request) -> Recorded:
        email = normalise_email(str(sub.email))
        ids = identifiers(sub.anonymous_id, None, email)
        rank, claimed = rank_of(req.source, "form"), set[str]()
        lead_id = self._lead_of(ids, req.received_at, True, "form", req.source.id, rank, claimed)
        if lead_id is None:
            return Recorded("", stored=False, suppressed=True)
        stamp = Stamp(req.source.id, rank, req.received_at)
        fit = {} if claimed else self._identify(lead_id, email, sub, stamp, "form")
        # a submission without messageId is one per content and minute: a double click or a browser's
        # resend is one, the same request sent again later is another
        content = sub.model_dump(mode="json", exclude={"next", "message_id", "write_key"})
        content["minute"] = req.received_at.replace(second=0, microsecond=0).isoformat()
        event = BehaviourEvent(
            message_id=sub.message_id or _content_id(f"form-{form_id}", content),
            type=EventType.FORM,
            at=req.received_at,
            form_id=form_id,
            path=sub.page_path,
            fit_traits=fit,
            source_id=req.source.id,
            ip=req.anonymised_ip(None),
            company=self._company(req.visitor_ip(None), req.received_at),
        )
        stored = self.events.record(
            device_lead(ids), event, req.expires(), req.received_at, self._lead_expires(req)
        )
        return Recorded(lead_id, stored)

    def email(
        self, kind: EventType, email_key: str, campaign: str | None, link: str | None, req: Request
    ) -> bool:
        """An e-mail open or click, for the contact whose hashed e-mail key the signed link carries. False
        (nothing stored) for a retry, or for an erased (suppressed) recipient."""
        if self.suppression_secret is not None:
            keyed = suppression_hash(self.suppression_secret(), key_of(IdKind.EMAIL, email_key))
            if self.identities.linked_unless_suppressed([], [keyed])[1]:
                _suppressed()
                return False
        at = req.received_at
        target = _split(link)
        name = (clean_text(campaign)[:200] or None) if campaign else None
        detail = {
            "kind": kind.value,
            "key": email_key,
            "campaign": campaign,
            "link": link,
            "minute": at.replace(second=0, microsecond=0).isoformat(),
        }
        event = BehaviourEvent(
            # a mail client re-fetching within a minute counts once
            message_id=_content_id(kind.value, detail),
            type=kind,
            at=at,
            name=name,
            path=clean_text(target.netloc) if target else None,
            touch=Touch(Channel.EMAIL, "email", "email", name, None),
            source_id=req.source.id,
            ip=req.anonymised_ip(None),
        )
        return self.events.record(
            email_lead(email_key), event, req.expires(), req.received_at, self._lead_expires(req)
        )

    def _company(self, ip: str | None, now: datetime) -> str | None:
        """The domain of the business behind the visitor's address, asked before the address is anonymised
        (the resolver's cache makes it one provider lookup per network; it never raises). None when the
        feature is off, the network is an ISP's, a mobile carrier's, a host's, a VPN's or a campus's, or
        the answer is not known now. Only the domain is kept on the event."""
        if self.companies is None or not ip:
            return None
        company = self.companies.resolve(ip)
        if company is None or not company.creates_account or company.domain is None:
            return None
        self._name_account(company, now)
        return company.domain

    def _name_account(self, company: Company, now: datetime) -> None:
        """Create the account of a company seen by its network, named as the provider names it (once per
        container; a group call's name still wins). A side concern: a failure is logged, never raised."""
        assert company.domain is not None
        if company.domain in self._named:
            return
        try:
            self.accounts.name_by_network(company.domain, company.name, now)
        except StoreUnavailable as exc:
            logger.warning("account not named after its network's company", reason=str(exc))
            return
        self._named.add(company.domain)

    def _lead_of(
        self,
        ids: list[Identifier],
        now: datetime,
        root: bool,
        call: str,
        source_id: str | None,
        rank: Rank = Rank.BROWSER,
        claimed: set[str] | None = None,
    ) -> str | None:
        """The root lead a message belongs to, or None when one of its identifiers is suppressed (an erased
        person). Only a message with a known identifier (user id, e-mail) needs a look-up: its links, the
        suppression entries and its identifiers' own leads' merge marks in one BatchGetItem, then the
        marks up to the roots; an anonymous page view reads nothing. Linking may hand other roots over to
        the winner (merged) before the event is stored, so scoring forwards them; `identity.resolution`
        has the policy. With `root` False (a call that writes no profile), a message whose identifiers
        all name one lead already, their own leads merged, changes nothing: that lead is the answer,
        without following it to its root (scoring does). Each merge records why (`call`, `source_id`).

        Every write is conditional and none is ignored: a link someone else wrote first, or a root merged
        meanwhile, means another call got there first, so this one reads again and decides again (all of
        them converge on one root). If the identity keeps changing under it, the caller gets a 503 and its
        retry converges: every write here is idempotent. The identifiers are recorded on the root
        (LINKED#), so that privacy can find them.

        A call of `rank` never joins the sender to a lead established above it (`identity.provenance`):
        it links and merges nothing, records a pending claim on each lead it named, adds them to
        `claimed`, and answers the root of the sender's own lead."""
        if all(i.kind is IdKind.ANONYMOUS for i in ids):
            return device_lead(ids)
        keyed = suppression_hashes(self.suppression_secret(), ids) if self.suppression_secret else []
        own = {i.derived_lead_id() for i in ids}
        for attempt in range(RESOLVE_ATTEMPTS):
            if attempt:
                metrics.add_metric(name="IdentityRaces", unit=MetricUnit.Count, value=1)
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not a secret
            found = self.identities.look_up(ids, keyed, own)
            if found.suppressed:
                _suppressed()
                return None
            heads = {head(i, found.linked) for i in ids}
            handed = found.marks[device_lead(ids)].handed
            if not root and len(heads) == 1 and not handed:
                [lead] = heads
                if all(found.marks[o].merged_into for o in own if o != lead):
                    return lead
            holder = handed[-1][1] if handed else device_lead(ids)
            roots = self._roots(found.marks, heads | own | {holder})
            resolution = self._resolve(ids, found.linked, roots, roots[holder], call)
            device_root = roots[holder]  # the person the device counts for now (shared devices)
            refused, causes = self._vouch(
                resolution, ids, found.linked, roots, device_root, rank, call, source_id, now
            )
            if refused:
                if claimed is not None:
                    claimed.update(refused)
                return device_root
            if self._settle(resolution, ids, now, call, source_id, causes) and self._hand_over(
                resolution, ids, handed, now
            ):
                for merged in causes:
                    self._confirm(resolution.lead_id, merged, now)
                return resolution.lead_id
        raise StoreUnavailable("identity kept changing under concurrent calls")

    def _roots(self, marks: dict[str, Mark], leads: set[str]) -> dict[str, str]:
        """lead -> its root, following `merged_into` from `leads` (`marks`: those already read; one
        BatchGetItem per hop). Any lead on the way that does not point at its root directly, and any
        member of a merged lead (a move cut short), is moved up to the root: chains stay one hop long."""
        marks = {**marks, **self.identities.marks(leads - marks.keys())} if leads - marks.keys() else marks
        for _ in range(MAX_ROOT_HOPS):
            above = {m.merged_into for m in marks.values() if m.merged_into and m.merged_into not in marks}
            if not above:
                break
            marks.update(self.identities.marks(above))
        else:
            raise StoreUnavailable("a merge chain too long to follow")

        def root(lead: str) -> str:
            path = [lead]
            while (up := marks[path[-1]].merged_into) is not None:
                if up in path:
                    raise StoreUnavailable("a merge cycle written before roots were kept")
                path.append(up)
            return path[-1]

        found = {lead: root(lead) for lead in marks}
        for lead, mark in marks.items():
            if mark.merged_into is not None and mark.merged_into != found[lead]:
                self.identities.move(lead, mark.merged_into, found[lead])
            for member in mark.members if mark.merged_into is not None else ():
                self.identities.move(member, lead, found[lead])
        return found

    def _vouch(
        self,
        resolution: Resolution,
        ids: list[Identifier],
        linked: dict[str, str],
        roots: dict[str, str],
        device_root: str,
        rank: Rank,
        call: str,
        source_id: str | None,
        now: datetime,
    ) -> tuple[tuple[str, ...], dict[str, str]]:
        """(the roots this call may not join, each recorded as a pending claim; the merge cause of each root
        whose merge confirms a claim). Reads nothing unless the resolution joins the sender's lead to
        another: then the ranks those leads were established at (one BatchGetItem), and for a call that may
        join them, the claims its merges confirm (one more). `device_root`: whom the sender's device counts
        for now; a hand-over joins the device to the resolution's lead, so it is vouched for like a merge."""
        others = joined(resolution, device_root)
        if not others:
            return (), {}
        refused = refused_joins(
            resolution, device_root, self.provenance.established((*others, device_root)), rank
        )
        for lead in refused:
            naming = next((i for i in ids if roots[head(i, linked)] == lead), ids[0])
            self.claims.record(Claim(lead, device_root, source_id, rank, call, naming.kind.value, now))
        if refused or rank is Rank.BROWSER or not resolution.merges:
            return refused, {}
        winner = resolution.lead_id
        pairs = [p for r in resolution.merges for p in ((winner, r), (r, winner))]
        pending = self.claims.pending(pairs)
        confirmed = [r for r in resolution.merges if (winner, r) in pending or (r, winner) in pending]
        return (), {r: confirmed_cause(rank) for r in confirmed}

    def _confirm(self, winner: str, merged: str, now: datetime) -> None:
        """The claims a merge confirmed, marked so (whichever way round the claim was made)."""
        self.claims.confirm(winner, merged, now)
        self.claims.confirm(merged, winner, now)

    def _resolve(
        self, ids: list[Identifier], linked: dict[str, str], roots: dict[str, str], holder: str, call: str
    ) -> Resolution:
        """`resolve_on_device`, reading the holder's kinds of known identifier only when the message claims
        none of the holder's identifiers (a first identify on a device, or another person on it). An alias
        call says its identifiers are one person: never a hand-over."""
        asks = call != "alias" and from_device(ids) and not claims(ids, linked, roots, holder)
        kinds = self.identities.known_kinds(holder) if asks else frozenset()
        return resolve_on_device(ids, linked, roots, holder, kinds)

    def _hand_over(
        self, resolution: Resolution, ids: list[Identifier], handed: Handed, now: datetime
    ) -> bool:
        """Write a hand-over the resolution decided (after its links and merges): the new holder records
        its known identifiers (LINKED#, for privacy and the next hand-over) and the device. False when
        another call changed the device's hand-overs first."""
        device = resolution.hands_over
        if device is None:
            return True
        self.identities.remember(resolution.lead_id, known(ids), now)
        return self.identities.hand_over(device, resolution.lead_id, now, handed)

    def _settle(
        self,
        resolution: Resolution,
        ids: list[Identifier],
        now: datetime,
        call: str,
        source_id: str | None,
        causes: dict[str, str] | None = None,
    ) -> bool:
        """Write what a resolution decided: links, then merges (each root's members moved up to the
        winner; `causes`: a merge's cause when it is not the usual one). False as soon as a condition
        fails: another call changed the identity first."""
        winner = resolution.lead_id
        for ident in resolution.links:
            if not self.identities.link(ident, winner, now):
                return False
        moved = resolution.moved or tuple(() for _ in resolution.merges)
        for root, joined_by, links in zip(resolution.merges, resolution.because, moved, strict=True):
            # its members, read first and recorded with the merge (conditional on them): an unmerge
            # moves them back
            members = tuple(sorted(self.identities.marks([root])[root].members))
            why = Merge(
                root,
                winner,
                (causes or {}).get(root) or cause(call, joined_by),
                call,
                source_id,
                now,
                links,
                members,
                True,
            )
            if not self.identities.merge(root, winner, why):
                return False
            for member in members:
                self.identities.move(member, root, winner)
        if resolution.links or resolution.merges:
            self.identities.remember(winner, ids, now)
        return True

    def _identify(
        self, lead_id: str, email: str | None, contact: Contact, stamp: Stamp, call: str
    ) -> dict[str, str]:
        """Save contact details as far as the call's rank allows (`identity.provenance`), and the account;
        return the non-personal traits scoring looks at: only those the profile now holds, so a value a
        higher rank set and the call could not change does not change the lead's fit either."""
        given = {
            "email": email,
            "name": contact.full_name,
            "title": contact.title,
            "company": contact.company,
            "phone": contact.phone,
        }
        account = organisation_domain(email) if email else None
        kind = email_kind(email).value if email else None
        for attempt in range(RESOLVE_ATTEMPTS):
            if attempt:
                metrics.add_metric(name="ProfileRaces", unit=MetricUnit.Count, value=1)
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not a secret
            read = self.provenance.read(lead_id)
            decision = decide(read.values, read.stamps, read.established, given, stamp.rank)
            derived = {"account": account, "email_kind": kind}
            if not decision.writes or self.provenance.write(lead_id, read, decision, derived, stamp, call):
                break
        else:
            raise StoreUnavailable("the profile kept changing under concurrent calls")
        if decision.kept:
            metrics.add_metric(name="ProfileFieldsKept", unit=MetricUnit.Count, value=len(decision.kept))
        fit: dict[str, str] = {}
        if decision.applies("email", given):
            if account:
                self.accounts.join(account, lead_id, contact.company, stamp.at, Basis.EMAIL)
            if kind:
                fit["email_kind"] = kind
        if contact.title and decision.applies("title", given):
            fit["title"] = contact.title[:100]
        return fit
