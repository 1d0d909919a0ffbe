"""Listing leads and accounts, and the account card: the sales API's reads through indexes, never a scan.

Leads: one Query per index partition (LeadsByStage: a stage each; LeadsByOwner: the owner's) merged
newest first, or, for one account, a Query of its partition's memberships and BatchGetItem of their STATE;
then one BatchGetItem of the page's PROFILEs (name, title, company). Accounts: one Query per account stage
of AccountsByStage; the card: GetItem of the STATE and PROFILE, a Query of the memberships, BatchGetItem of
the members' STATE and the known ones' PROFILE, and Queries of its score history and events (its partition).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.accounts.model import AccountModel, AccountStage
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.accounts.score import AccountState
from leadstream.contracts.events import CardReason
from leadstream.identity.repository import ProfileRepository
from leadstream.platform.errors import BadRequest, NotFound
from leadstream.sales.accounts import (
    HISTORY_DAYS,
    AccountDetail,
    AccountList,
    account_detail,
    account_row,
)
from leadstream.sales.distribution import ScoreDistribution, stage_scores
from leadstream.sales.listing import (
    MAX_SORTED,
    Cursor,
    LeadFilters,
    LeadList,
    Position,
    Sort,
    deadline,
    decode_cursor,
    encode_cursor,
    every_entry,
    newest_first,
    page_sorted,
    row,
)
from leadstream.sales.owners import Owners
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.repository import LEADS_BY_OWNER, LEADS_BY_STAGE, Listed, ScoreRepository


@dataclass(frozen=True)
class _Partition:
    label: str  # its name in the cursor (a stage, or "owner": no e-mail in a URL)
    index: str
    value: str


class LeadLists:
    def __init__(
        self, leads_table: str, accounts_table: str, model: ScoringModel, *, likelihoods: bool
    ) -> None:
        """`likelihoods`: whether a predictive model is configured; without one, rows answer no likelihood
        and the page costs no read of it."""
        self.model, self.with_likelihoods = model, likelihoods
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)
        self.ledger = AccountLedger(accounts_table, leads_table)

    def leads(
        self, filters: LeadFilters, sort: Sort, limit: int, cursor_text: str | None, now: datetime
    ) -> LeadList:
        digest = filters.digest(sort)
        partitions = self._partitions(filters)
        labels = [p.label for p in partitions]
        cursor = decode_cursor(cursor_text, digest, labels)
        at = datetime.fromtimestamp(cursor.at / 1000, UTC) if cursor.at is not None else now

        def keep(entry: Listed) -> bool:
            now_score = entry.lead.score_at(self.model, at)
            return filters.matches(entry.lead, entry.sales, entry.updated, now_score)

        following: Cursor | None
        if filters.account is not None or sort is not Sort.UPDATED:
            if filters.account is not None:
                candidates = self._members(filters.account)
            else:
                candidates = every_entry(labels, self._fetch(filters, partitions, 100))

            def key(entry: Listed) -> tuple[float, str]:
                if sort is Sort.SCORE:
                    return entry.lead.score_at(self.model, at), entry.lead.lead_id
                if sort is Sort.DUE:  # soonest first: the pages run from the highest value down
                    return -deadline(entry.sales), entry.lead.lead_id
                return float(entry.updated), entry.lead.lead_id

            found, after = page_sorted([e for e in candidates if keep(e)], key, cursor.after, limit)
            following = Cursor(after=after, at=int(at.timestamp() * 1000)) if after else None
        else:
            found, following = newest_first(
                labels, cursor, self._fetch(filters, partitions, limit), limit, keep
            )
        contacts = self.profiles.load_many(e.lead.lead_id for e in found)
        if self.with_likelihoods:
            # the indexes do not project the likelihood: one read of it for the page's leads read through them
            likelihoods = self.scores.likelihoods(e.lead.lead_id for e in found if e.likelihood is None)
            found = [replace(e, likelihood=likelihoods.get(e.lead.lead_id, e.likelihood)) for e in found]
        else:
            found = [replace(e, likelihood=None) for e in found]
        rows = [
            row(
                e,
                e.lead.score_at(self.model, at),
                [CardReason(label=r.label, points=r.points) for r in e.lead.reasons(self.model)],
                contacts.get(e.lead.lead_id),
            )
            for e in found
        ]
        return LeadList(leads=rows, cursor=encode_cursor(following, digest) if following else None, as_of=at)

    @staticmethod
    def _partitions(filters: LeadFilters) -> list[_Partition]:
        if filters.owner is not None:
            return [_Partition("owner", LEADS_BY_OWNER, filters.owner)]
        return [_Partition(stage.value, LEADS_BY_STAGE, stage.value) for stage in filters.wanted]

    def _fetch(self, filters: LeadFilters, partitions: Sequence[_Partition], limit: int) -> Any:
        """Reads one page of a partition, with what DynamoDB can filter before it answers."""
        by_label = {p.label: p for p in partitions}
        where: list[tuple[str, str, Any]] = []
        if filters.owner is not None:
            where.append(("stage", "in", [s.value for s in filters.wanted]))
        if filters.min_score is not None:
            where.append(("score", ">=", filters.min_score))
        for attribute, value in (("channel", filters.channel), ("campaign", filters.campaign)):
            if value is not None:
                where.append((attribute, "=", value))
        if filters.sla is not None:
            where.append(("sla_state", "=", filters.sla))

        def fetch(label: str, start: Position | None) -> tuple[list[Listed], Position | None]:
            part = by_label[label]
            return self.scores.listed(part.index, part.value, start, limit, filters.since_ms, where)

        return fetch

    def score_distribution(self, bound: int, now: datetime) -> ScoreDistribution:
        """Every stage's listed leads scored `now`, in buckets: per stage, Queries of its LeadsByStage
        partition (newest change first, at most 100 a page) until it is done or one lead past `bound` was
        read (the sign that the stage holds more than it counts)."""
        stages = []
        for stage in Stage:
            scores: list[float] = []
            start: Position | None = None
            while len(scores) <= bound:
                want = min(100, bound + 1 - len(scores))
                page, start = self.scores.listed(LEADS_BY_STAGE, stage.value, start, want)
                scores.extend(e.lead.score_at(self.model, now) for e in page)
                if start is None:
                    break
            stages.append(stage_scores(stage.value, scores[:bound], len(scores) > bound))
        return ScoreDistribution(as_of=now, max_per_stage=bound, stages=stages)

    def _members(self, domain: str) -> list[Listed]:
        """The account's members worth listing (the memberships whose mark counts them, or not yet marked)."""
        memberships = self.ledger.members(domain)
        members = [mark.lead_id for mark, _via in memberships if mark.member or not mark.version]
        if len(members) > MAX_SORTED:
            raise BadRequest(
                f"the account has more than {MAX_SORTED} people: filter by stage or owner instead",
                details=[{"field": "account", "problem": f"an account's list reads at most {MAX_SORTED}"}],
            )
        return self.scores.listed_many(members)


@dataclass(frozen=True)
class _Account:
    state: AccountState
    updated: int

    @property
    def position(self) -> Position:
        return self.updated, self.state.domain


class AccountLists:
    def __init__(
        self, accounts_table: str, leads_table: str, model: AccountModel, leads: ScoringModel
    ) -> None:
        self.model, self.leads = model, leads
        self.ledger = AccountLedger(accounts_table, leads_table)
        self.accounts = AccountRepository(accounts_table)
        self.owners = Owners(accounts_table)
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)

    def accounts_list(
        self, stages: Sequence[AccountStage], limit: int, cursor_text: str | None, now: datetime
    ) -> AccountList:
        wanted = list(stages or AccountStage)
        labels = [s.value for s in wanted]
        digest = LeadFilters().digest(Sort.UPDATED) + ":" + ",".join(labels)
        cursor = decode_cursor(cursor_text, digest, labels)

        def fetch(label: str, start: Position | None) -> tuple[list[_Account], Position | None]:
            found, after = self.ledger.listed(label, start, limit)
            return [_Account(state, updated) for state, updated in found], after

        found, following = newest_first(labels, cursor, fetch, limit, lambda e: e.state.people > 0)
        rows = [
            account_row(self.model, self.leads, e.state, e.updated, max(now, e.state.as_of or now))
            for e in found
        ]
        return AccountList(
            accounts=rows, cursor=encode_cursor(following, digest) if following else None, as_of=now
        )

    def card(self, domain: str, now: datetime) -> AccountDetail:
        state = self.ledger.state(domain)
        if state is None:
            raise NotFound(f"no account {domain!r}")
        profile = self.accounts.profile(domain)
        members = [mark for mark, _via in self.ledger.members(domain) if mark.member]
        roles = {mark.lead_id: mark.role for mark in members if not mark.anonymous}
        roles = dict(list(roles.items())[:MAX_SORTED])
        anonymous = [mark.lead_id for mark in members if mark.anonymous][:MAX_SORTED]
        people = [(e.lead, roles.get(e.lead.lead_id)) for e in self.scores.listed_many(roles)]
        stored = self.scores.load_many(anonymous).values()  # not listed: nobody knows who they are yet
        visitors = [s.score for s in stored if s.version is not None and not s.merged_into and not s.erased]
        profiles = self.profiles.load_many(roles)
        since = now - timedelta(days=HISTORY_DAYS)
        history = (since, self.ledger.history(domain, since), self.ledger.events(domain))
        name = profile.name if profile else None
        owner, _country = self.owners.of_account(domain)
        return account_detail(
            self.model, self.leads, state, name, people, profiles, visitors, history, now, owner
        )
