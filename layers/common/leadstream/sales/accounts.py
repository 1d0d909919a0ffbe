"""Accounts as the sales API shows them (pure: no I/O): a list's rows and the account card. Its pydantic
models are the API's response models (the OpenAPI document is generated from them)."""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from leadstream.accounts.model import AccountModel
from leadstream.accounts.score import AccountEvent, AccountState, ScorePoint
from leadstream.contracts.events import AccountStageChanged
from leadstream.identity.profile import Profile
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

PEOPLE_LIMIT = 100  # the known people (and the anonymous ones) an account card lists, highest score first
HISTORY_DAYS = 90  # the days of score history an account card shows


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountRow(_Answer):
    """One account in a list."""

    domain: str = Field(description="the account's key: its registrable domain (or the group id)")
    name: str | None = None
    stage: str
    score: float = Field(description="engagement + fit + committee points, now")
    engagement: float
    fit: int
    coverage: float = Field(description="buying-committee roles covered / roles defined")
    people: int
    engaged_people: int
    anonymous_people: int
    updated_at: datetime = Field(description="when a change last reached the account")


class AccountList(_Answer):
    accounts: list[AccountRow]
    cursor: str | None = Field(description="pass it as ?cursor= for the next page; null: this was the last")
    as_of: datetime


class Person(_Answer):
    """Someone Leadstream knows at the account (a lead with an e-mail). Personal data: never logged."""

    lead_id: str
    name: str | None = None
    title: str | None = None
    role: str | None = Field(default=None, description="the buying-committee role the title gives, if any")
    stage: str
    score: float = Field(description="fit + engagement, now")


class Visitor(_Answer):
    """Someone at the account nobody knows yet: a visitor known only by their company's network."""

    lead_id: str
    stage: str
    score: float = Field(description="fit + engagement, now")


class CommitteeRole(_Answer):
    """A buying-committee role of the account model, and how many of the account's people hold it."""

    id: str
    label: str
    points: int = Field(description="what the account earns once someone holds it")
    people: int = Field(description="people holding it (0: the role is missing)")


class HistoryPoint(_Answer):
    """Where the account stood at the end of a day (its latest change that day)."""

    at: datetime
    stage: str
    score: float
    engagement: float
    fit: int
    committee: int
    engaged_people: int
    people: int


class StageMark(_Answer):
    at: datetime
    from_stage: str
    to_stage: str
    score: float = Field(description="the account's score when it moved")


class SurgeMark(_Answer):
    at: datetime
    engagement_gain: float
    engaged_people_gain: int


class AccountHistory(_Answer):
    """Score and stage over time: the score one point a day (recorded from the release that added it on,
    for at most the last HISTORY_DAYS days), every stage change and surge."""

    since: datetime = Field(description="the first moment the points cover")
    points: list[HistoryPoint] = Field(description="oldest first, one a day: the day's latest score")
    stage_changes: list[StageMark] = Field(description="oldest first")
    surges: list[SurgeMark] = Field(description="oldest first")


class Surge(_Answer):
    last_surged_at: datetime
    surging: bool = Field(description="the latest surge is within the model's surge window")


class AccountDetail(_Answer):
    """The account card: how it scores and why, who is there."""

    version: int = 1
    domain: str
    name: str | None = None
    owner: str | None = Field(default=None, description="the account owner's e-mail: its new SQLs go to them")
    stage: str
    score: float = Field(description="engagement + fit + committee points, now")
    engagement: float = Field(description="the strongest leads' behaviour points, weighted, decayed to now")
    fit: int = Field(description="firmographic fit points")
    committee: int = Field(description="points for the buying-committee roles covered")
    coverage: float = Field(description="buying-committee roles covered / roles defined")
    roles: dict[str, int] = Field(description="people holding each role of the model (0: not covered)")
    people: int = Field(description="leads counted in the account, anonymous ones included")
    anonymous_people: int = Field(description="of them, visitors known only by their company's network")
    engaged_people: int
    people_known: list[Person] = Field(
        default_factory=list, description=f"the known people, highest score first (at most {PEOPLE_LIMIT})"
    )
    people_known_count: int = Field(description="how many known people the account has")
    people_anonymous: list[Visitor] = Field(
        default_factory=list,
        description=f"the anonymous visitors, highest score first (at most {PEOPLE_LIMIT})",
    )
    committee_roles: list[CommitteeRole] = Field(
        default_factory=list, description="every role of the account model, in its order, with its people"
    )
    history: AccountHistory
    surge: Surge | None = Field(default=None, description="its latest surge, if it ever surged")
    as_of: datetime


def account_row(
    model: AccountModel, leads: ScoringModel, state: AccountState, updated: int, now: datetime
) -> AccountRow:
    card = state.card(model, leads, now)
    return AccountRow(
        domain=card.domain,
        name=card.name,
        stage=card.stage,
        score=card.score,
        engagement=card.engagement,
        fit=card.fit,
        coverage=card.coverage,
        people=card.people,
        engaged_people=card.engaged_people,
        anonymous_people=card.anonymous_people,
        updated_at=datetime.fromtimestamp(updated / 1000, UTC),
    )


def account_detail(
    model: AccountModel,
    leads: ScoringModel,
    state: AccountState,
    name: str | None,
    people: Iterable[tuple[LeadScore, str | None]],
    profiles: Mapping[str, Profile],
    visitors: Iterable[LeadScore],
    history: tuple[datetime, Iterable[ScorePoint], Iterable[AccountEvent]],
    now: datetime,
    owner: str | None = None,
) -> AccountDetail:
    """The card of an account as of `now`; `people`: its known members' scores with their roles;
    `visitors`: its anonymous members' scores; `history`: since when, its score points and its events."""
    when = max(now, state.as_of) if state.as_of else now
    card = state.card(model, leads, when)
    known = sorted(
        (
            Person(
                lead_id=lead.lead_id,
                name=profiles[lead.lead_id].name if lead.lead_id in profiles else None,
                title=profiles[lead.lead_id].title if lead.lead_id in profiles else None,
                role=role,
                stage=lead.stage.value,
                score=round(lead.score_at(leads, when), 1),
            )
            for lead, role in people
        ),
        key=lambda p: (-p.score, p.lead_id),
    )
    anonymous = sorted(
        (
            Visitor(lead_id=v.lead_id, stage=v.stage.value, score=round(v.score_at(leads, when), 1))
            for v in visitors
        ),
        key=lambda v: (-v.score, v.lead_id),
    )
    since, points, events = history
    surged = state.last_surge_at
    return AccountDetail(
        domain=state.domain,
        name=name or card.name,
        owner=owner,
        stage=card.stage,
        score=card.score,
        engagement=card.engagement,
        fit=card.fit,
        committee=model.committee_points(state.covered()),
        coverage=card.coverage,
        roles=card.roles,
        people=card.people,
        anonymous_people=card.anonymous_people,
        engaged_people=card.engaged_people,
        people_known=known[:PEOPLE_LIMIT],
        people_known_count=len(known),
        people_anonymous=anonymous[:PEOPLE_LIMIT],
        committee_roles=[
            CommitteeRole(id=role.id, label=role.label, points=role.points, people=card.roles.get(role.id, 0))
            for role in model.committee
        ],
        history=account_history(since, points, events),
        surge=Surge(
            last_surged_at=surged,
            surging=when - surged <= timedelta(days=model.surge.window_days),
        )
        if surged is not None
        else None,
        as_of=when,
    )


def account_history(
    since: datetime, points: Iterable[ScorePoint], events: Iterable[AccountEvent]
) -> AccountHistory:
    changes = [e for e in events]
    return AccountHistory(
        since=since,
        points=[
            HistoryPoint(
                at=p.at,
                stage=p.stage.value,
                score=p.score,
                engagement=p.engagement,
                fit=p.fit,
                committee=p.committee,
                engaged_people=p.engaged,
                people=p.people,
            )
            for p in points
        ],
        stage_changes=[
            StageMark(at=e.changed_at, from_stage=e.from_stage, to_stage=e.to_stage, score=e.card.score)
            for e in changes
            if isinstance(e, AccountStageChanged)
        ],
        surges=[
            SurgeMark(
                at=e.surged_at, engagement_gain=e.engagement_gain, engaged_people_gain=e.engaged_people_gain
            )
            for e in changes
            if not isinstance(e, AccountStageChanged)
        ],
    )
