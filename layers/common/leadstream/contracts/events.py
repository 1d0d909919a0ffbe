"""Events Leadstream publishes on its EventBridge bus. This is a public contract: add, never rename."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SOURCE = "leadstream"
STAGE_CHANGED = "Lead Stage Changed"


class CardReason(BaseModel):
    label: str
    points: int = Field(
        description="the rule's points; 0: the hand-raise or PQL rule that sent the lead whatever its score"
    )


class CardTouch(BaseModel):
    channel: str
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    landing_path: str | None = None


class CardDriver(BaseModel):
    """A feature that moved the predictive likelihood (its label is the artifact's: data, never markup)."""

    feature: str = Field(
        description="the feature's name in the artifact (rule:<id>, fit:<id>, channel:<c>, ...)"
    )
    label: str
    effect: float = Field(
        description="its share of the log-odds: positive raised the likelihood, negative lowered it"
    )


class CardLikelihood(BaseModel):
    """The predictive score: how likely the lead is to close, learnt from this customer's own won and lost
    deals (python -m cli model train). Shown beside the rules score; it never moves a stage."""

    probability: float = Field(ge=0, le=1, description="0..1, as of the lead's latest scored activity")
    model_version: int = Field(description="the predictive model's version")
    drivers: list[CardDriver] = Field(default_factory=list, description="the features that moved it most")


class LeadCard(BaseModel):
    """What a sales rep needs to act on a lead within minutes, and why it was sent."""

    lead_id: str
    name: str | None = None
    email: str | None = None
    title: str | None = None
    company: str | None = None
    account: str | None = None
    score: float
    stage: str
    reasons: list[CardReason] = Field(default_factory=list)
    first_touch: CardTouch | None = None
    last_touch: CardTouch | None = None  # of the latest visit that did not come direct
    sessions: int = 0
    page_views: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    # The score's two halves, so a hand-raiser's or a PQL's score is read for what it is (absent when people
    # moved the lead): engagement + fit = score.
    engagement: float | None = Field(default=None, description="behaviour points (decayed) at that moment")
    fit: int | None = Field(default=None, description="fit points at that moment (free e-mail, title, ...)")
    fit_reasons: list[CardReason] = Field(default_factory=list, description="every fit rule that counted")
    likelihood: CardLikelihood | None = Field(
        default=None, description="the predictive likelihood at that moment; null: none configured"
    )


class LeadStageChanged(BaseModel):
    """detail of a 'Lead Stage Changed' event; transition_id is unique per transition (idempotency key).

    Scoring moves a lead up to MQL, PQL or SQL; people move it on (accepted, rejected, opportunity, won,
    lost, disqualified). `by` says who: absent for the scoring model (then `model_version` is its version),
    otherwise the user's e-mail."""

    version: Literal[1] = 1
    transition_id: str
    lead_id: str
    from_stage: str
    to_stage: str
    changed_at: datetime
    card: LeadCard
    by: str | None = Field(default=None, description="the user who moved it; absent: the scoring model")
    model_version: int | None = Field(default=None, description="the scoring model's version, if it moved it")
    reason: str | None = Field(default=None, description="why, as the user gave it (rejected, lost, ...)")
    amount: float | None = Field(default=None, description="the deal's value (won, lost)")
    currency: str | None = Field(default=None, description="ISO 4217 code of the amount")
    hand_raiser: bool = Field(
        default=False, description="sent to sales by a hand-raise rule (a demo request), whatever its score"
    )


ACCOUNT_STAGE_CHANGED = "Account Stage Changed"
ACCOUNT_SURGED = "Account Surged"


class CardPerson(BaseModel):
    """One of an account's most engaged people: a lead id and what their title says, never an e-mail."""

    lead_id: str
    title: str | None = None
    role: str | None = Field(default=None, description="the buying-committee role the title gives, if any")
    points: float = Field(description="the lead's behaviour points at that moment (decayed)")


class AccountCard(BaseModel):
    """What sales needs to work an account, and why it was sent."""

    domain: str = Field(description="the account's key: its registrable domain (or the group id)")
    name: str | None = None
    score: float = Field(description="engagement + fit + committee points")
    stage: str
    engagement: float = Field(description="the strongest leads' behaviour points, weighted, decayed")
    fit: int = 0
    coverage: float = Field(ge=0, le=1, description="buying-committee roles covered / roles defined")
    roles: dict[str, int] = Field(
        default_factory=dict, description="people holding each role of the model (0 for a role not covered)"
    )
    engaged_people: int = Field(ge=0, description="leads whose score is at the model's engaged threshold")
    people: int = Field(ge=0, description="leads counted in the account")
    anonymous_people: int = Field(
        default=0, ge=0, description="of them, visitors known only by their company's network (no e-mail)"
    )
    top_people: list[CardPerson] = Field(default_factory=list)


class AccountStageChanged(BaseModel):
    """detail of an 'Account Stage Changed' event; change_id is unique per change (idempotency key)."""

    version: Literal[1] = 1
    change_id: str
    domain: str
    from_stage: str
    to_stage: str
    changed_at: datetime
    card: AccountCard


class AccountSurged(BaseModel):
    """detail of an 'Account Surged' event: a sharp rise within a window; surge_id is unique per surge."""

    version: Literal[1] = 1
    surge_id: str
    domain: str
    surged_at: datetime
    window_days: int
    engagement_before: float = Field(description="the account's engagement a window ago (decayed to then)")
    engagement_gain: float
    engaged_people_gain: int
    card: AccountCard


LEAD_QUALIFIED = "Lead Qualified"


class LeadQualified(BaseModel):
    """detail of a 'Lead Qualified' event: sales answered qualification criteria of a lead. event_id is unique
    per answering (idempotency key). The answers' text is not in it: read the LeadCard (sales API)."""

    version: Literal[1] = 1
    event_id: str
    lead_id: str
    framework: str = Field(description="the active framework: BANT, CHAMP or MEDDIC")
    criteria: list[str] = Field(description="the criteria answered this time")
    answered: list[str] = Field(description="every criterion of the framework answered so far")
    missing_required: list[str] = Field(description="required for opportunity and not answered yet")
    completeness: float = Field(ge=0, le=1)
    by: str = Field(description="the user who answered (their e-mail)")
    qualified_at: datetime


LEAD_ASSIGNED = "Lead Assigned"
LEAD_SLA_BREACHED = "Lead SLA Breached"


class LeadAssigned(BaseModel):
    """detail of a 'Lead Assigned' event: a lead has a (new) owner; event_id is unique per assignment."""

    version: Literal[1] = 1
    event_id: str
    lead_id: str
    owner: str = Field(description="the owner's e-mail (a sales user)")
    previous_owner: str | None = Field(default=None, description="absent: the lead had no owner")
    by: str | None = Field(default=None, description="the user who reassigned it; absent: the rules")
    at: datetime
    reason: Literal["rule", "reassigned"] = Field(
        description="'rule': the assignment rules gave it its owner; 'reassigned': a user did"
    )


class LeadSlaBreached(BaseModel):
    """detail of a 'Lead SLA Breached' event: nobody accepted or rejected the lead before its speed-to-lead
    deadline; event_id is unique per breach (one per stage change that started a timer)."""

    version: Literal[1] = 1
    event_id: str
    lead_id: str
    transition_id: str = Field(description="the stage change that started the timer")
    owner: str | None = Field(default=None, description="the owner's e-mail, if it had one")
    stage: str = Field(description="the stage the lead was handed to sales in (SQL, PQL)")
    started_at: datetime
    due_at: datetime
    breached_at: datetime


# Every event on the bus, by detail-type: the schemas in docs/events are generated from these.
DETAIL_TYPES: dict[str, type[BaseModel]] = {
    STAGE_CHANGED: LeadStageChanged,
    ACCOUNT_STAGE_CHANGED: AccountStageChanged,
    ACCOUNT_SURGED: AccountSurged,
    LEAD_QUALIFIED: LeadQualified,
    LEAD_ASSIGNED: LeadAssigned,
    LEAD_SLA_BREACHED: LeadSlaBreached,
}
