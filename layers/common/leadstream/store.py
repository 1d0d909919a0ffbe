"""Data access: PynamoDB items and the repository the services use.

LeadsTable (pk, sk), one partition per lead plus identity links:
  LEAD#<id> / EVT#<messageId>  behaviour event (small, TTL'd)          -> wakes ScoreFunction
  LEAD#<id> / STATE            score, stage, outbox transitions (hot)  -> wakes PublishFunction
  LEAD#<id> / PROFILE          contact details and traits (cold)
  ID#<kind>:<hash> / LINK      identifier -> lead id (e-mails and user ids are hashed)
AccountsTable (pk, sk):
  ACCOUNT#<domain> / PROFILE   the organisation
  ACCOUNT#<domain> / LEAD#<id> membership

Every write goes through ``_write`` so its size and billed write units are counted (WRITES).
"""

import math
from base64 import b64decode
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from leadstream.domain.attribution import Touch
from leadstream.domain.events import BehaviourEvent, EventType
from leadstream.domain.identity import Identifier, device_lead
from leadstream.domain.lifecycle import Stage
from leadstream.domain.scoring import LeadScore, Transition
from leadstream.errors import ConcurrentUpdate, StoreUnavailable

STATE_SK = "STATE"
PROFILE_SK = "PROFILE"
LINK_SK = "LINK"
EVENT_PREFIX = "EVT#"


# --- write accounting --------------------------------------------------------------------------------


@dataclass
class WriteMeter:
    """Counts DynamoDB write requests and write units (1 per started KB of item, x2 in transactions)."""

    requests: int = 0
    units: int = 0
    by_item: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str, size_bytes: int, transactional: bool = False, requests: int = 1) -> None:
        """One item written; `requests=0` when it went in a batch request counted on its own."""
        units = max(1, math.ceil(size_bytes / 1024)) * (2 if transactional else 1)
        self.requests += requests
        self.units += units
        self.by_item[kind] = self.by_item.get(kind, 0) + units

    def reset(self) -> None:
        self.requests = self.units = 0
        self.by_item.clear()


WRITES = WriteMeter()


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    match kind:
        case "S":
            return len(raw.encode())
        case "N":
            digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
            return (len(digits) + 1) // 2 + 1
        case "B":
            return len(b64decode(raw)) if isinstance(raw, str) else len(raw)
        case "BOOL" | "NULL":
            return 1
        case "M":
            return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
        case "L":
            return 3 + sum(_value_size(v) + 1 for v in raw)
        case "SS":
            return sum(len(s.encode()) for s in raw)
        case _:
            return sum(_value_size({kind[0]: v}) for v in raw)


def item_size(attributes: dict[str, dict[str, Any]]) -> int:
    """Size of an item as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in attributes.items())


# --- items ------------------------------------------------------------------------------------------


class Item(Model):
    """A pk/sk item; concrete models are bound to a table with `bind`."""

    class Meta:
        abstract = True

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class EventItem(Item):
    class Meta:
        abstract = True

    type = UnicodeAttribute()
    at = NumberAttribute()  # epoch seconds, compact
    name = UnicodeAttribute(null=True)
    path = UnicodeAttribute(null=True)
    form_id = UnicodeAttribute(null=True)
    fit = MapAttribute[str, str](null=True)
    touch = MapAttribute[str, str](null=True)
    src = UnicodeAttribute(null=True)  # source id
    ip = UnicodeAttribute(null=True)  # anonymised per the source's privacy settings
    expires_at = TTLAttribute(null=True)


class StateItem(Item):
    class Meta:
        abstract = True

    # Replay guards: the last stream sequence applied from this lead's own partition (zero-padded), and
    # per merged-in lead the last sequence forwarded from its partition. `version` is the write lock.
    seq = UnicodeAttribute(null=True)
    absorbed = MapAttribute[str, str](null=True)
    version = NumberAttribute(null=True)
    behaviour = NumberAttribute(null=True)
    as_of = NumberAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    known = BooleanAttribute(null=True)
    contrib = MapAttribute[str, list[int]](null=True)  # rule id -> [points, times]
    fit = MapAttribute[str, int](null=True)
    first_touch = MapAttribute[str, str](null=True)
    last_touch = MapAttribute[str, str](null=True)
    page_views = NumberAttribute(null=True)
    sessions = NumberAttribute(null=True)
    first_seen = NumberAttribute(null=True)
    last_seen = NumberAttribute(null=True)
    last_visit = NumberAttribute(null=True)
    events = NumberAttribute(null=True)
    transition_count = NumberAttribute(null=True)
    transition_to = UnicodeAttribute(null=True)  # set only by the update that changed stage (outbox)
    transitions = ListAttribute[dict[str, Any]](null=True)
    merged_into = UnicodeAttribute(null=True)  # this lead's events are scored on that lead now


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


class LinkItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    linked_at = NumberAttribute()


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


def bind[M: Item](base: type[M], table: str, region: str | None) -> type[M]:
    """A concrete model of `base` on `table` (PynamoDB reads Meta when a class is defined)."""
    meta = type("Meta", (), {"table_name": table, "region": region, "max_retry_attempts": 2})
    return type(base.__name__.removesuffix("Item") + "On" + table, (base,), {"Meta": meta})


# --- conversions ------------------------------------------------------------------------------------


def _ts(value: datetime | None) -> float | None:
    return None if value is None else round(value.timestamp(), 3)


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def lead_pk(lead_id: str) -> str:
    return f"LEAD#{lead_id}"


def lead_id_of(pk: str) -> str:
    return pk.removeprefix("LEAD#")


def _pad(seq: str) -> str:
    return seq.zfill(48)


@dataclass(frozen=True)
class Profile:
    lead_id: str
    email: str | None = None
    name: str | None = None
    title: str | None = None
    company: str | None = None
    phone: str | None = None
    account: str | None = None
    email_kind: str | None = None


@dataclass(frozen=True)
class Resolution:
    lead_id: str  # the lead these identifiers belong to (profile, account, score)
    unlinked: tuple[Identifier, ...]  # identifiers to link to it


@dataclass(frozen=True)
class StoredScore:
    score: LeadScore
    seq: str | None  # last own-partition sequence applied
    absorbed: dict[str, str]  # merged-in lead -> last sequence forwarded from it
    version: int | None  # None: no STATE item yet
    merged_into: str | None

    def applied(self, seq: str, source: str | None = None) -> bool:
        """Whether a record was already applied: of this lead's own partition, or forwarded from `source`."""
        done = self.seq if source is None else self.absorbed.get(source)
        return done is not None and _pad(seq) <= done


@contextmanager
def _mapped_errors(action: str) -> Iterator[None]:
    try:
        yield
    except PynamoDBException as exc:
        raise StoreUnavailable(f"{action} failed ({exc.cause_response_code or type(exc).__name__})") from exc


def _is_condition_failure(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


class LeadRepository:
    """All reads and writes of leads, identities and accounts."""

    meter: ClassVar[WriteMeter] = WRITES

    def __init__(
        self, leads_table: str, region: str | None = None, accounts_table: str | None = None
    ) -> None:
        self.events = bind(EventItem, leads_table, region)
        self.states = bind(StateItem, leads_table, region)
        self.profiles = bind(ProfileItem, leads_table, region)
        self.links = bind(LinkItem, leads_table, region)
        self.accounts = bind(AccountItem, accounts_table, region) if accounts_table else None
        self.members = bind(MemberItem, accounts_table, region) if accounts_table else None

    def _write(self, kind: str, item: Item, condition: Any = None) -> bool:
        """PutItem with an optional condition; False when the condition failed (already there)."""
        self.meter.record(kind, item_size(item.serialize()))
        try:
            item.save(condition=condition)
        except PynamoDBException as exc:
            if _is_condition_failure(exc):
                return False
            raise StoreUnavailable(f"writing {kind} failed ({exc.cause_response_code})") from exc
        return True

    # identities

    def resolve(self, ids: list[Identifier]) -> Resolution:
        """Which lead these identifiers belong to: the first one linked (known identifiers first), else the
        lead of the visitor's own identifier (see `device_lead`)."""
        if not ids:
            raise ValueError("at least one identifier is needed")
        with _mapped_errors("resolving identity"):
            found = {
                link.pk: link.lead_id
                for link in self.links.batch_get([(f"ID#{i.key}", LINK_SK) for i in ids])
            }
        linked = [(i, found.get(f"ID#{i.key}")) for i in ids]
        owner = next((lead for _, lead in linked if lead), None)
        return Resolution(owner or device_lead(ids), tuple(i for i, lead in linked if not lead))

    def link(self, ids: tuple[Identifier, ...], lead_id: str, now: datetime) -> None:
        """Link identifiers to a lead. An identifier whose own lead is another one hands that lead over:
        it is marked merged, so its history and later events are scored on `lead_id`."""
        for ident in ids:
            own = ident.derived_lead_id()
            if own == lead_id:
                continue  # implicit: no link item needed
            item = self.links(f"ID#{ident.key}", LINK_SK, lead_id=lead_id, linked_at=_ts(now))
            self._write("link", item, condition=self.links.pk.does_not_exist())
            self.mark_merged(own, into=lead_id)

    def mark_merged(self, lead_id: str, into: str) -> None:
        """Point a lead at the lead that absorbs it. The first mark wins; STATE is created if needed."""
        item = self.states(lead_pk(lead_id), STATE_SK)
        self.meter.record("state", 128)
        try:
            item.update(
                actions=[
                    self.states.merged_into.set(into),
                    self.states.version.set((self.states.version | 0) + 1),
                    self.states.transition_to.remove(),
                    self.states.transitions.remove(),
                ],
                condition=self.states.merged_into.does_not_exist(),
            )
        except PynamoDBException as exc:
            if not _is_condition_failure(exc):
                raise StoreUnavailable(f"marking a merged lead failed ({exc.cause_response_code})") from exc

    # behaviour

    def _event_item(self, lead_id: str, event: BehaviourEvent, expires_at: datetime) -> EventItem:
        return self.events(
            lead_pk(lead_id),
            EVENT_PREFIX + event.message_id,
            type=event.type.value,
            at=_ts(event.at),
            name=event.name,
            path=event.path,
            form_id=event.form_id,
            fit=event.fit_traits or None,
            touch=event.touch.to_dict() if event.touch else None,
            src=event.source_id,
            ip=event.ip,
            expires_at=expires_at,
        )

    def record_event(self, lead_id: str, event: BehaviourEvent, expires_at: datetime) -> bool:
        """Store an event once per message id. False if it was already stored (a retry)."""
        item = self._event_item(lead_id, event, expires_at)
        return self._write("event", item, condition=self.events.pk.does_not_exist())

    def record_events(self, events: list[tuple[str, BehaviourEvent, datetime]]) -> None:
        """Store many events in BatchWriteItem requests of 25. BatchWriteItem has no conditions: a retried
        message is written again over itself, which the stream shows as a MODIFY, not an INSERT, so
        scoring (INSERT only) never counts it twice."""
        # One request may not name an item twice (DynamoDB rejects the whole request): a message repeated
        # in a batch is the same message, so it is written once.
        unique = {(lead, event.message_id): (lead, event, expires) for lead, event, expires in events}
        items = [self._event_item(lead, event, expires) for lead, event, expires in unique.values()]
        for item in items:
            self.meter.record("event", item_size(item.serialize()), requests=0)
        self.meter.requests += math.ceil(len(items) / 25)
        with _mapped_errors("writing events"), self.events.batch_write() as batch:
            for item in items:
                batch.save(item)

    def event_from_image(self, image: dict[str, Any]) -> tuple[str, BehaviourEvent]:
        """(lead id, event) from a stream record's NewImage (DynamoDB JSON)."""
        item = self.events.from_raw_data(image)
        fit = item.fit.as_dict() if item.fit else {}
        touch = item.touch.as_dict() if item.touch else None
        return lead_id_of(item.pk), BehaviourEvent(
            message_id=item.sk.removeprefix(EVENT_PREFIX),
            type=EventType(item.type),
            at=_dt(item.at) or datetime.now(UTC),
            name=item.name,
            path=item.path,
            form_id=item.form_id,
            fit_traits=fit,
            touch=Touch.from_dict(touch) if touch else None,
            source_id=item.src,
            ip=item.ip,
        )

    # score state

    def load_score(self, lead_id: str) -> StoredScore:
        """The lead's score with its replay guards and write version (a fresh lead if it has none)."""
        with _mapped_errors("reading lead state"):
            try:
                item = self.states.get(lead_pk(lead_id), STATE_SK, consistent_read=True)
            except self.states.DoesNotExist:
                return StoredScore(LeadScore(lead_id=lead_id), None, {}, None, None)
        return StoredScore(
            self.score_from_item(item),
            item.seq,
            item.absorbed.as_dict() if item.absorbed else {},
            int(item.version) if item.version is not None else 0,
            item.merged_into,
        )

    def score_from_image(self, image: dict[str, Any]) -> LeadScore:
        return self.score_from_item(self.states.from_raw_data(image))

    @staticmethod
    def score_from_item(item: StateItem) -> LeadScore:
        contrib = item.contrib.as_dict() if item.contrib else {}
        touch = item.first_touch.as_dict() if item.first_touch else None
        return LeadScore(
            lead_id=lead_id_of(item.pk),
            behaviour=float(item.behaviour or 0),
            as_of=_dt(item.as_of),
            stage=Stage(item.stage or Stage.LEAD.value),
            known=bool(item.known),
            contributions={k: (int(v[0]), int(v[1])) for k, v in contrib.items()},
            fit_points={k: int(v) for k, v in (item.fit.as_dict() if item.fit else {}).items()},
            first_touch=Touch.from_dict(touch) if touch else None,
            last_touch=Touch.from_dict(item.last_touch.as_dict()) if item.last_touch else None,
            first_seen=_dt(item.first_seen),
            last_seen=_dt(item.last_seen),
            last_visit=_dt(item.last_visit),
            events=int(item.events or 0),
            page_views=int(item.page_views or 0),
            sessions=int(item.sessions or 0),
            transition_count=int(item.transition_count or 0),
            transitions=tuple(
                Transition(
                    t["id"], Stage(t["from"]), Stage(t["to"]), _dt(t["at"]) or datetime.now(UTC), t["score"]
                )
                for t in (item.transitions or [])
            ),
        )

    def save_score(self, stored: StoredScore, score: LeadScore) -> None:
        """Write the whole STATE item (one small PutItem) with the guards in `stored`, only if nobody wrote
        it since it was read (`stored.version`)."""
        item = self.states(
            lead_pk(score.lead_id),
            STATE_SK,
            seq=stored.seq,
            absorbed=stored.absorbed or None,
            version=(stored.version or 0) + 1,
            behaviour=round(score.behaviour, 4),
            as_of=_ts(score.as_of),
            stage=score.stage.value,
            known=score.known,
            contrib={k: list(v) for k, v in score.contributions.items()} or None,
            fit=score.fit_points or None,
            first_touch=score.first_touch.to_dict() if score.first_touch else None,
            last_touch=score.last_touch.to_dict() if score.last_touch else None,
            first_seen=_ts(score.first_seen),
            last_seen=_ts(score.last_seen),
            last_visit=_ts(score.last_visit),
            events=score.events,
            page_views=score.page_views,
            sessions=score.sessions,
            transition_count=score.transition_count,
            transition_to=score.transitions[-1].to_stage.value if score.transitions else None,
            transitions=[
                {
                    "id": t.id,
                    "from": t.from_stage.value,
                    "to": t.to_stage.value,
                    "at": _ts(t.at),
                    "score": t.score,
                }
                for t in score.transitions
            ]
            or None,
            merged_into=stored.merged_into,
        )
        condition = (
            self.states.pk.does_not_exist()
            if stored.version is None
            else self.states.version == stored.version
        )
        if not self._write("state", item, condition=condition):
            raise ConcurrentUpdate(f"lead {score.lead_id} changed while it was being scored")

    def scores(self) -> Iterator[LeadScore]:
        """Every scored lead (a full scan: for reports, never on a request path)."""
        with _mapped_errors("scanning lead states"):
            for item in self.states.scan(self.states.sk == STATE_SK):
                if item.stage is not None and item.merged_into is None:
                    yield self.score_from_item(item)

    @staticmethod
    def padded(seq: str) -> str:
        return _pad(seq)

    # profile and account

    def save_profile(self, profile: Profile, now: datetime) -> None:
        """Set the given contact details (missing ones are left as they were)."""
        item = self.profiles(lead_pk(profile.lead_id), PROFILE_SK)
        values = {
            "email": profile.email,
            "name": profile.name,
            "title": profile.title,
            "company": profile.company,
            "phone": profile.phone,
            "account": profile.account,
            "email_kind": profile.email_kind,
        }
        actions = [getattr(self.profiles, k).set(v) for k, v in values.items() if v is not None]
        stamp = now.timestamp()
        actions.append(self.profiles.updated_at.set(stamp))
        actions.append(self.profiles.identified_at.set(self.profiles.identified_at | stamp))
        # Billed on the larger of before/after: profiles are small, so one unit.
        self.meter.record("profile", item_size({k: {"S": str(v)} for k, v in values.items() if v}) + 64)
        with _mapped_errors("saving profile"):
            item.update(actions=actions)

    def load_profile(self, lead_id: str) -> Profile | None:
        with _mapped_errors("reading profile"):
            try:
                item = self.profiles.get(lead_pk(lead_id), PROFILE_SK)
            except self.profiles.DoesNotExist:
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

    def join_account(self, domain: str, lead_id: str, company: str | None, now: datetime) -> None:
        if self.accounts is None or self.members is None:
            raise RuntimeError("this repository was made without the accounts table")
        account = self.accounts(f"ACCOUNT#{domain}", PROFILE_SK, domain=domain, name=company or domain)
        account.created_at = _ts(now)
        self._write("account", account, condition=self.accounts.pk.does_not_exist())
        member = self.members(f"ACCOUNT#{domain}", f"LEAD#{lead_id}", lead_id=lead_id, joined_at=_ts(now))
        self._write("member", member, condition=self.members.pk.does_not_exist())

    def describe_account(self, domain: str, traits: dict[str, str], now: datetime) -> None:
        """Set an account's traits (from a group call); the ones not given are left as they were."""
        if self.accounts is None:
            raise RuntimeError("this repository was made without the accounts table")
        item = self.accounts(f"ACCOUNT#{domain}", PROFILE_SK)
        actions: list[Any] = [self.accounts.domain.set(domain), self.accounts.updated_at.set(now.timestamp())]
        actions += [getattr(self.accounts, k).set(v) for k, v in traits.items() if v]
        self.meter.record("account", 256)
        with _mapped_errors("saving account"):
            item.update(actions=actions)


def event_expiry(now: datetime, ttl_days: int) -> datetime:
    return now + timedelta(days=ttl_days)
