"""Data access for accounts (AccountsTable, pk/sk strings).

ACCOUNT#<domain> / PROFILE        the organisation; `name_rank` says who named it (a group call 2, the
                                  company-by-IP provider 1, a join 0): a name never gives way to a weaker one
ACCOUNT#<domain> / LEAD#<id>      membership: `via`, the claims ingest recorded (group call, e-mail domain),
                                  and the member's mark (what the account last counted of it, and why)
ACCOUNT#<domain> / STATE          the account's score state (`AccountState`, bounded) and write version;
                                  `stage` and `updated` (epoch ms) key the index ACCOUNTS_BY_STAGE
ACCOUNT#<domain> / ATRANS#<id>    one account event, durable (the outbox): its insert wakes PublishFunction;
                                  it keeps `unpublished` = "1" until it is published
ACCOUNT#<domain> / SCORE#<day>    the score history: the day's latest point (score, its parts, stage, people),
                                  put with the STATE write (one Put, whatever the people: O(1)); `expires_at`
                                  lets DynamoDB's TTL drop it after HISTORY_DAYS
"""

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute

from leadstream.accounts.membership import Basis
from leadstream.accounts.model import AccountStage
from leadstream.accounts.score import (
    AccountEvent,
    AccountState,
    BoardEntry,
    MemberMark,
    ScorePoint,
    Snapshot,
)
from leadstream.contracts.events import (
    ACCOUNT_STAGE_CHANGED,
    ACCOUNT_SURGED,
    AccountStageChanged,
    AccountSurged,
)
from leadstream.platform import aws
from leadstream.platform.dynamo import (
    Item,
    bind,
    mapped_errors,
    moment,
    save_unless,
    timestamp,
    transact,
    update_unless,
)
from leadstream.platform.errors import ConcurrentUpdate, StoreUnavailable

PROFILE_SK = "PROFILE"
STATE_SK = "STATE"
MEMBER_PREFIX = "LEAD#"
OUTBOX_PREFIX = "ATRANS#"
HISTORY_PREFIX = "SCORE#"
HISTORY_DAYS = 400  # a score point is kept this long (TTL): a year of history, and the same weeks before
EVENTS_READ = 200  # at most this many account events read for a history (a few stages; surges cool down)
# who named an account: a stronger name replaces a weaker one, never the other way round, so the name
# does not depend on which write came first
NAMED_BY_GROUP, NAMED_BY_NETWORK = 2, 1
ACCOUNTS_BY_STAGE = "AccountsByStage"  # GSI: stage, updated (only STATE items carry both)


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
    country = UnicodeAttribute(null=True)  # a group call's: the sales team its leads go to (assignment)
    group_id = UnicodeAttribute(null=True)
    name_rank = NumberAttribute(null=True)  # absent: named by a join (a contact's company, or the domain)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


class MemberItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    joined_at = NumberAttribute()
    via = UnicodeSetAttribute(null=True)  # the claims that joined it (Basis values)


class AccountRepository:
    def __init__(self, accounts_table: str) -> None:
        self.accounts = bind(AccountItem, accounts_table)
        self.members = bind(MemberItem, accounts_table)

    def join(self, domain: str, lead_id: str, company: str | None, now: datetime, basis: Basis) -> None:
        """The lead is claimed by the account (`basis`: a group call or its e-mail), which is created
        (named) if it is new. Which account it counts in is AccountFunction's decision."""
        account = self.accounts(
            account_pk(domain), PROFILE_SK, domain=domain, name=company or domain, created_at=timestamp(now)
        )
        save_unless(account, self.accounts.pk.does_not_exist(), "creating an account")
        members = self.members
        actions: list[Any] = [
            members.lead_id.set(lead_id),
            members.joined_at.set(members.joined_at | timestamp(now)),
            members.via.add({basis.value}),
        ]
        with mapped_errors("adding an account member"):
            members(account_pk(domain), MEMBER_PREFIX + lead_id).update(actions=actions)

    def describe(self, domain: str, traits: dict[str, str], now: datetime) -> None:
        """Set an account's traits (from a group call); the ones not given are left as they were. A group
        call's name beats any other."""
        accounts = self.accounts
        actions: list[Any] = [accounts.domain.set(domain), accounts.updated_at.set(now.timestamp())]
        actions += [getattr(accounts, k).set(v) for k, v in traits.items() if v]
        if traits.get("name"):
            actions.append(accounts.name_rank.set(NAMED_BY_GROUP))
        with mapped_errors("saving an account"):
            accounts(account_pk(domain), PROFILE_SK).update(actions=actions)

    def name_by_network(self, domain: str, name: str | None, now: datetime) -> None:
        """The account of a company seen by its visitors' network: created if new, and named as the
        provider names the company unless a group call named it (whatever came first)."""
        if name is None:
            account = self.accounts(
                account_pk(domain), PROFILE_SK, domain=domain, name=domain, created_at=timestamp(now)
            )
            save_unless(account, self.accounts.pk.does_not_exist(), "creating an account")
            return
        accounts = self.accounts
        actions: list[Any] = [
            accounts.domain.set(domain),
            accounts.name.set(name),
            accounts.name_rank.set(NAMED_BY_NETWORK),
            accounts.created_at.set(accounts.created_at | timestamp(now)),
            accounts.updated_at.set(now.timestamp()),
        ]
        weaker = accounts.name_rank.does_not_exist() | (accounts.name_rank < NAMED_BY_NETWORK)
        update_unless(accounts(account_pk(domain), PROFILE_SK), actions, weaker, "naming an account")

    def traits(self, domains: Iterable[str]) -> dict[str, dict[str, str]]:
        """domain -> the traits its fit rules read (industry, employees, name), for the accounts that exist:
        their PROFILEs, as ingest wrote them (one BatchGetItem, eventually consistent)."""
        keys = [(account_pk(domain), PROFILE_SK) for domain in dict.fromkeys(domains)]
        with mapped_errors("reading accounts"):
            found = list(self.accounts.batch_get(keys)) if keys else []
        return {
            item.domain: {k: v for k, v in (("industry", item.industry), ("employees", item.employees)) if v}
            for item in found
        }

    def profile(self, domain: str) -> AccountItem | None:
        """An account's PROFILE (for readers: the CLI)."""
        with mapped_errors("reading an account"):
            try:
                return self.accounts.get(account_pk(domain), PROFILE_SK)
            except self.accounts.DoesNotExist:
                return None


# --- the account's score: STATE, members' marks and the outbox ------------------------------------------


class LedgerItem(Item):
    """An account's STATE or a membership with its mark: read together in one BatchGetItem."""

    class Meta:
        abstract = True

    version = NumberAttribute(null=True)  # STATE: its write version
    stage = UnicodeAttribute(null=True)  # STATE: for people reading the table
    people = NumberAttribute(null=True)
    state = UnicodeAttribute(null=True)  # STATE: the AccountState as JSON (bounded whatever the people)
    lead_id = UnicodeAttribute(null=True)  # membership
    mark = UnicodeAttribute(null=True)  # membership: the MemberMark as JSON
    via = UnicodeSetAttribute(null=True)  # membership: the claims ingest recorded (Basis values)
    updated = NumberAttribute(null=True)  # STATE: when it was written, epoch ms (the stage index's sort)


class OutboxItem(Item):
    """One account event, written with the STATE write that made it."""

    class Meta:
        abstract = True

    id = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = UnicodeAttribute()  # the event's detail (JSON), as it goes on the bus
    unpublished = UnicodeAttribute(null=True)  # "1" until published
    published_at = NumberAttribute(null=True)


class HistoryItem(Item):
    """One day's latest score point of an account."""

    class Meta:
        abstract = True

    at = NumberAttribute()  # epoch seconds: the moment of the account's latest change that day
    stage = UnicodeAttribute()
    score = NumberAttribute()
    engagement = NumberAttribute()
    fit = NumberAttribute()
    committee = NumberAttribute()
    engaged = NumberAttribute()
    people = NumberAttribute()
    expires_at = NumberAttribute()


def history_sk(at: datetime) -> str:
    return f"{HISTORY_PREFIX}{at.date().isoformat()}"


class LeadAccountsItem(Item):
    """The part of a lead's PROFILE (LeadsTable) the account roll-up reads: its accounts, the one it named
    last, and its title."""

    class Meta:
        abstract = True

    title = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    accounts = UnicodeSetAttribute(null=True)


@dataclass(frozen=True)
class LeadAccounts:
    """What a lead's PROFILE says of its accounts."""

    joined: frozenset[str]  # every account that claimed it through ingest (group calls, e-mails)
    latest: str | None  # the one named last
    title: str | None


@dataclass(frozen=True)
class Stored:
    """An account's state as read, with the write version a save is conditional on (None: never saved)."""

    state: AccountState
    version: int | None = None


def _state_doc(state: AccountState) -> dict[str, Any]:
    return {
        "stage": state.stage.value,
        "as_of": timestamp(state.as_of),
        "people": state.people,
        "anonymous": state.anonymous,
        "board": {
            lead: [round(e.behaviour, 4), timestamp(e.as_of), e.title, e.role]
            for lead, e in state.board.items()
        },
        "roles": state.roles,
        "engaged": state.engaged,
        "engaged_day": state.engaged_day,
        "engaged_changes": {str(day): n for day, n in state.engaged_changes.items()},
        "traits": state.traits,
        "traits_version": state.traits_version,
        "recent": [[timestamp(s.at), round(s.engagement, 4), s.engaged] for s in state.recent],
        "last_surge_at": timestamp(state.last_surge_at),
    }


def _state(domain: str, doc: dict[str, Any]) -> AccountState:
    return AccountState(
        domain=domain,
        stage=AccountStage(doc["stage"]),
        as_of=moment(doc["as_of"]),
        people=int(doc["people"]),
        anonymous=int(doc.get("anonymous", 0)),
        board={
            lead: BoardEntry(float(points), moment(as_of), title, role)
            for lead, (points, as_of, title, role) in doc["board"].items()
        },
        roles={role: int(n) for role, n in doc["roles"].items()},
        engaged=int(doc["engaged"]),
        engaged_day=doc["engaged_day"],
        engaged_changes={int(day): int(n) for day, n in doc["engaged_changes"].items()},
        traits=dict(doc["traits"]),
        traits_version=int(doc["traits_version"]),
        recent=tuple(Snapshot(_at(at), float(e), int(n)) for at, e, n in doc["recent"]),
        last_surge_at=moment(doc["last_surge_at"]),
    )


def _at(value: float) -> datetime:
    at = moment(value)
    assert at is not None
    return at


def _mark_doc(mark: MemberMark) -> str:
    return json.dumps(
        {
            "version": mark.version,
            "member": mark.member,
            "role": mark.role,
            "engaged": mark.engaged,
            "basis": mark.basis,
            "anonymous": mark.anonymous,
        },
        separators=(",", ":"),
    )


def _mark(lead_id: str, raw: str | None) -> MemberMark:
    if raw is None:
        return MemberMark(lead_id)
    doc = json.loads(raw)
    span = doc["engaged"]
    return MemberMark(
        lead_id,
        int(doc["version"]),
        bool(doc["member"]),
        doc["role"],
        tuple(span) if span else None,
        doc.get("basis"),
        bool(doc.get("anonymous", False)),
    )


def state_from_item(raw: dict[str, Any]) -> AccountState:
    """An account's STATE item in DynamoDB JSON (as GetItem or a stream image carries it): no client."""
    return _state(raw["pk"]["S"].removeprefix("ACCOUNT#"), json.loads(raw["state"]["S"]))


def event_id(event: AccountEvent) -> str:
    return event.change_id if isinstance(event, AccountStageChanged) else event.surge_id


def event_time(event: AccountEvent) -> datetime:
    return event.changed_at if isinstance(event, AccountStageChanged) else event.surged_at


def detail_type(event: AccountEvent) -> str:
    return ACCOUNT_STAGE_CHANGED if isinstance(event, AccountStageChanged) else ACCOUNT_SURGED


class AccountLedger:
    """The account roll-up's data access: lead → accounts (LeadsTable PROFILE), account STATE and member
    marks (read in one BatchGetItem), and the one transaction that saves an update with its events."""

    def __init__(self, accounts_table: str, leads_table: str) -> None:
        self.table = accounts_table
        self.items = bind(LedgerItem, accounts_table)
        self.profiles_of_accounts = bind(AccountItem, accounts_table)
        self.outbox = bind(OutboxItem, accounts_table)
        self.points = bind(HistoryItem, accounts_table)
        self.profiles = bind(LeadAccountsItem, leads_table)

    def lead_accounts(self, lead_ids: Iterable[str]) -> dict[str, LeadAccounts]:
        """lead -> what its PROFILE says of its accounts, for the leads that have one (one BatchGetItem)."""
        keys = [(f"LEAD#{lead}", PROFILE_SK) for lead in dict.fromkeys(lead_ids)]
        with mapped_errors("reading leads' accounts"):
            found = list(self.profiles.batch_get(keys)) if keys else []
        return {
            item.pk.removeprefix("LEAD#"): LeadAccounts(
                frozenset(item.accounts or ()), item.account, item.title
            )
            for item in found
        }

    def load(
        self, wanted: Mapping[str, Iterable[str]]
    ) -> tuple[dict[str, Stored], dict[tuple[str, str], MemberMark], dict[tuple[str, str], frozenset[str]]]:
        """account -> its stored state, (account, lead) -> the member's mark, and (account, lead) -> the
        claims its membership recorded, for every account and the given leads of each: one BatchGetItem
        (strongly consistent: a save is conditional on it)."""
        keys = [(account_pk(domain), STATE_SK) for domain in wanted]
        keys += [
            (account_pk(domain), MEMBER_PREFIX + lead) for domain, leads in wanted.items() for lead in leads
        ]
        with mapped_errors("reading account states"):
            found = (
                {(i.pk, i.sk): i for i in self.items.batch_get(keys, consistent_read=True)} if keys else {}
            )
        states: dict[str, Stored] = {}
        for domain in wanted:
            item = found.get((account_pk(domain), STATE_SK))
            states[domain] = (
                Stored(_state(domain, json.loads(item.state)), int(item.version or 0))
                if item is not None and item.state
                else Stored(AccountState(domain))
            )
        marks = {
            (domain, lead): _mark(
                lead, getattr(found.get((account_pk(domain), MEMBER_PREFIX + lead)), "mark", None)
            )
            for domain, leads in wanted.items()
            for lead in leads
        }
        claims = {
            (domain, lead): frozenset(
                getattr(found.get((account_pk(domain), MEMBER_PREFIX + lead)), "via", None) or ()
            )
            for domain, leads in wanted.items()
            for lead in leads
        }
        return states, marks, claims

    def members(self, domain: str) -> list[tuple[MemberMark, frozenset[str]]]:
        """Every membership of an account with its mark and claims: a Query of its partition (for readers
        such as `accounts show`, never the scoring path)."""
        items = self.items
        with mapped_errors("reading an account's members"):
            found = list(items.query(account_pk(domain), items.sk.startswith(MEMBER_PREFIX)))
        return [
            (
                _mark(str(item.lead_id or item.sk.removeprefix(MEMBER_PREFIX)), item.mark),
                frozenset(item.via or ()),
            )
            for item in found
        ]

    def domains(self) -> list[tuple[str, AccountState]]:
        """Every account that has a score: a Scan of the table (for the command line only)."""
        items = self.items
        with mapped_errors("scanning accounts"):
            found = list(items.scan(items.sk == STATE_SK))
        return [
            (
                item.pk.removeprefix("ACCOUNT#"),
                _state(item.pk.removeprefix("ACCOUNT#"), json.loads(item.state)),
            )
            for item in found
            if item.state
        ]

    def listed(
        self, stage: str, start: tuple[int, str] | None, limit: int
    ) -> tuple[list[tuple[AccountState, int]], tuple[int, str] | None]:
        """One page of the accounts at `stage`, newest change first, after `start` ((updated, domain)): each
        state with when it was written (epoch ms), and where the next page starts (None: no more). A Query
        of the index ACCOUNTS_BY_STAGE, never a scan."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": ACCOUNTS_BY_STAGE,
            "KeyConditionExpression": "#stage = :stage",
            "ExpressionAttributeNames": {"#stage": "stage"},
            "ExpressionAttributeValues": {":stage": {"S": stage}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = {
                "pk": {"S": account_pk(start[1])},
                "sk": {"S": STATE_SK},
                "stage": {"S": stage},
                "updated": {"N": str(start[0])},
            }
        try:
            page = aws.client("dynamodb").query(**query)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"listing accounts failed ({type(exc).__name__})") from exc
        last = page.get("LastEvaluatedKey")
        after = (int(last["updated"]["N"]), last["pk"]["S"].removeprefix("ACCOUNT#")) if last else None
        found = [(state_from_item(raw), int(raw["updated"]["N"])) for raw in page.get("Items", [])]
        return found, after

    def state(self, domain: str) -> AccountState | None:
        """One account's state (for readers: the CLI, tests); None if no lead change reached it yet."""
        with mapped_errors("reading an account state"):
            try:
                item = self.items.get(account_pk(domain), STATE_SK, consistent_read=True)
            except self.items.DoesNotExist:
                return None
        return _state(domain, json.loads(item.state)) if item.state else None

    def save(
        self,
        stored: Stored,
        state: AccountState,
        marks: Iterable[MemberMark],
        events: Iterable[AccountEvent],
        now: datetime,
        point: ScorePoint | None = None,
    ) -> int:
        """STATE (only if nobody wrote it since `stored` was read), the members' marks, one ATRANS# item per
        event and the day's score point (replacing that day's earlier one), in one TransactWriteItems: all of
        them or none. Returns the new write version."""
        version = (stored.version or 0) + 1
        item = self.items(
            account_pk(state.domain),
            STATE_SK,
            version=version,
            stage=state.stage.value,
            people=state.people,
            state=json.dumps(_state_doc(state), separators=(",", ":")),
            updated=round(time.time() * 1000),
        )
        if stored.version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(stored.version)}},
            }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": item.serialize(), **condition}}
        ]
        actions += [self._mark_update(state.domain, mark, now) for mark in marks]
        actions += [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": self.outbox(
                        account_pk(state.domain),
                        OUTBOX_PREFIX + event_id(event),
                        id=event_id(event),
                        detail_type=detail_type(event),
                        detail=event.model_dump_json(),
                        unpublished="1",
                    ).serialize(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for event in events
        ]
        if point is not None:
            actions.append({"Put": {"TableName": self.table, "Item": self._point(state.domain, point)}})
        if not transact(actions, "writing an account state"):
            raise ConcurrentUpdate(f"account {state.domain} changed while it was being updated")
        return version

    def _point(self, domain: str, point: ScorePoint) -> dict[str, Any]:
        item = self.points(
            account_pk(domain),
            history_sk(point.at),
            at=timestamp(point.at),
            stage=point.stage.value,
            score=point.score,
            engagement=point.engagement,
            fit=point.fit,
            committee=point.committee,
            engaged=point.engaged,
            people=point.people,
            expires_at=round((point.at + timedelta(days=HISTORY_DAYS)).timestamp()),
        )
        return dict(item.serialize())

    def history(self, domain: str, since: datetime) -> list[ScorePoint]:
        """The account's score points from `since`'s day on, oldest first: a Query of its partition."""
        points = self.points
        with mapped_errors("reading an account's history"):
            found = list(
                points.query(account_pk(domain), points.sk.between(history_sk(since), HISTORY_PREFIX + "~"))
            )
        return [
            ScorePoint(
                at=_at(item.at),
                stage=AccountStage(item.stage),
                score=float(item.score),
                engagement=float(item.engagement),
                fit=int(item.fit),
                committee=int(item.committee),
                engaged=int(item.engaged),
                people=int(item.people),
            )
            for item in found
        ]

    def events(self, domain: str) -> list[AccountEvent]:
        """The account's stage changes and surges (its outbox, kept), oldest first: a Query of its partition
        (at most EVENTS_READ of them)."""
        outbox = self.outbox
        with mapped_errors("reading an account's events"):
            found = list(
                outbox.query(account_pk(domain), outbox.sk.startswith(OUTBOX_PREFIX), limit=EVENTS_READ)
            )
        events: list[AccountEvent] = [
            AccountStageChanged.model_validate_json(item.detail)
            if item.detail_type == ACCOUNT_STAGE_CHANGED
            else AccountSurged.model_validate_json(item.detail)
            for item in found
        ]
        return sorted(events, key=event_time)

    def _mark_update(self, domain: str, mark: MemberMark, now: datetime) -> dict[str, Any]:
        """The member's mark, set on its membership (which ingest wrote when the lead joined; kept as is)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": account_pk(domain)}, "sk": {"S": MEMBER_PREFIX + mark.lead_id}},
                "UpdateExpression": (
                    "SET #mark = :mark, lead_id = :lead, joined_at = if_not_exists(joined_at, :now)"
                ),
                "ExpressionAttributeNames": {"#mark": "mark"},
                "ExpressionAttributeValues": {
                    ":mark": {"S": _mark_doc(mark)},
                    ":lead": {"S": mark.lead_id},
                    ":now": {"N": str(timestamp(now))},
                },
            }
        }

    def traits_from_image(self, image: dict[str, Any]) -> tuple[str, dict[str, str], int, datetime]:
        """(domain, traits, version, when) of an account PROFILE's stream NewImage: what ingest wrote on a
        join (the name) or a group call (name, industry, employees, website). The version is the write's
        time in milliseconds, so an older or repeated image changes nothing."""
        item = self.profiles_of_accounts.from_raw_data(image)
        stamp = float(item.updated_at or item.created_at or 0)
        traits = {"name": item.name, "industry": item.industry, "employees": item.employees}
        at = moment(stamp)
        assert at is not None
        return item.domain, {k: v for k, v in traits.items() if v}, round(stamp * 1000), at

    def events_from_image(self, image: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """(domain, detail type, detail) of an ATRANS# item's stream NewImage."""
        item = self.outbox.from_raw_data(image)
        return item.pk.removeprefix("ACCOUNT#"), item.detail_type, json.loads(item.detail)

    def mark_published(self, domain: str, event_id: str) -> None:
        """The event went out: it loses `unpublished` (a MODIFY, which wakes nobody)."""
        model = self.outbox
        item = model(account_pk(domain), OUTBOX_PREFIX + event_id)
        actions = [model.unpublished.remove(), model.published_at.set(round(time.time(), 3))]
        update_unless(item, actions, model.pk.exists(), "marking an account event published")
