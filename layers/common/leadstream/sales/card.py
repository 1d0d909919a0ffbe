"""The LeadCard of the sales API (v1): everything a rep needs before calling, built from what Leadstream
holds (pure: no I/O). Its pydantic models are the API's response models, so the OpenAPI document at
/api/openapi.json is generated from them.

Not the bus event's `contracts.events.LeadCard`: that is the small card a notification carries, frozen at
the stage change. This one is read when asked, with the full ledger and the behaviour timeline.

Whatever a visitor typed (name, title, company, page names, campaign names) is data in JSON strings.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadstream.contracts.events import AccountCard, CardLikelihood, CardReason, CardTouch
from leadstream.identity.profile import Profile
from leadstream.predictive.live import card_likelihood
from leadstream.predictive.model import Likelihood
from leadstream.sales.workflow import Answer, Framework
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, Transition
from leadstream.tracking.attribution import Touch
from leadstream.tracking.events import BehaviourEvent

ACTIVITY_LIMIT = 50  # the newest behaviour events a card lists
NOTES_LIMIT = 20  # the newest notes a card lists


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class Contact(_Answer):
    """Who the lead is, as they told us (forms, identify calls). Personal data: never logged."""

    name: str | None = None
    title: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None


class LedgerEntry(_Answer):
    """One scoring rule that fired for this lead."""

    rule_id: str
    label: str
    kind: Literal["behaviour", "fit"]
    points: int = Field(description="points the rule earned in total (behaviour: before decay)")
    times: int | None = Field(default=None, description="behaviour: how many times it earned them")
    counting: float | None = Field(
        default=None,
        description="behaviour: its occurrences that still count now, each fading with the half-life "
        "(what its max_times cap is measured against)",
    )


class Score(_Answer):
    """The score split into fit (who they are) and engagement (what they did, decayed to now)."""

    total: float = Field(description="fit + engagement, now (what the stage thresholds compare)")
    fit: int
    engagement: float = Field(description="behaviour points decayed to now")
    engagement_at_last_activity: float = Field(description="behaviour points when the lead last scored")
    last_scored: datetime | None = Field(default=None, description="when the lead last earned points")
    half_life_days: float = Field(description="behaviour points halve every this many days without activity")
    model_version: int
    ledger: list[LedgerEntry] = Field(default_factory=list, description="every rule that fired")


class StageChange(_Answer):
    transition_id: str
    from_stage: str
    to_stage: str
    at: datetime
    score: float = Field(description="the score at that moment")
    by: str = Field(default="scoring", description="who moved it: 'scoring' (the model) or the user's e-mail")
    model_version: int | None = Field(default=None, description="the scoring model's version, if it moved it")
    reason: str | None = Field(default=None, description="why, as the user gave it")
    amount: float | None = Field(default=None, description="the deal's value (won, lost)")
    currency: str | None = None
    hand_raiser: bool = Field(default=False, description="sent to sales by a hand-raise rule")
    rescored: bool = Field(
        default=False,
        description="recorded by a rescore: where a new scoring model would have moved the lead then "
        "(found afterwards; nobody was notified)",
    )
    reasons: list[CardReason] = Field(default_factory=list, description="the top reasons at that moment")


class Activity(_Answer):
    """One thing the lead did (a page or screen view, a form, an e-mail click, a track call)."""

    at: datetime
    type: str
    name: str | None = Field(
        default=None, description="the page's name or title, or the tracked event's name (data, never markup)"
    )
    path: str | None = None
    form_id: str | None = None
    channel: str | None = Field(default=None, description="the channel of the visit it started, if any")
    campaign: str | None = None
    lead_id: str = Field(description="the lead it was recorded on (this one, or one merged into it)")


class Owner(_Answer):
    """Who works the lead (STATE's `owner` and `owner_at`); null while nobody does."""

    user: str = Field(description="the owner's e-mail")
    assigned_at: datetime


class Sla(_Answer):
    """The speed-to-lead timer of the lead's latest hand-over to sales (STATE's `sla`); null if none."""

    state: Literal["running", "met", "breached"]
    started_at: datetime
    due_at: datetime
    acted_at: datetime | None = Field(default=None, description="when someone first accepted or rejected it")
    acted_by: str | None = Field(default=None, description="who did (their e-mail)")
    breached_at: datetime | None = Field(default=None, description="when it ran out with nobody acting")


class CriterionAnswer(_Answer):
    """One criterion of the active framework, and its answer if it has one (as the rep typed it)."""

    id: str
    label: str
    question: str
    required: bool = Field(description="must be answered before the lead may move to opportunity")
    answer: str | None = None
    by: str | None = Field(default=None, description="who answered it (a user's e-mail)")
    at: datetime | None = None


class Qualification(_Answer):
    """Answers to the active framework (BANT, CHAMP or MEDDIC: the stack's QualificationFramework)."""

    framework: str
    criteria: list[CriterionAnswer] = Field(default_factory=list, description="in the framework's order")
    answered: list[str] = Field(default_factory=list)
    missing_required: list[str] = Field(default_factory=list, description="what opportunity still needs")
    completeness: float = Field(ge=0, le=1, description="the fraction of the framework's criteria answered")


class Note(_Answer):
    """A note a user wrote on the lead (data, as typed)."""

    id: str
    text: str
    by: str = Field(description="who wrote it (a user's e-mail)")
    at: datetime


class LeadCard(_Answer):
    """A lead as sales sees it now. A lead merged into another is answered with a 308 to that one's card."""

    version: Literal[1] = 1
    lead_id: str
    merged_leads: list[str] = Field(default_factory=list, description="leads merged into this one")
    contact: Contact
    stage: str
    stage_history: list[StageChange] = Field(default_factory=list, description="oldest first")
    score: Score
    likelihood: CardLikelihood | None = Field(
        default=None,
        description="the predictive likelihood to close, beside the rules score (the stack's "
        "PredictiveModelFile; as of the lead's latest scored activity); null when none is configured or "
        "computed yet. Shown only: it never moves a stage",
    )
    model_version: int | None = Field(
        default=None,
        description="the version of the scoring model that computed the stored score (null: scored before "
        "versions were recorded); score.model_version is the live model's",
    )
    activity: list[Activity] = Field(
        default_factory=list, description=f"the newest {ACTIVITY_LIMIT} behaviour events, newest first"
    )
    activity_stored: int = Field(description="behaviour events still stored (the source's retention)")
    first_touch: CardTouch | None = None
    last_touch: CardTouch | None = Field(default=None, description="of the latest visit not direct")
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sessions: int = 0
    page_views: int = 0
    account: AccountCard | None = Field(default=None, description="the lead's account, as it is now")
    owner: Owner | None = None
    sla: Sla | None = None
    qualification: Qualification | None = None
    notes: list[Note] = Field(
        default_factory=list, description=f"the newest {NOTES_LIMIT} notes, newest first"
    )
    as_of: datetime = Field(description="when this card was read")


def _touch(touch: Touch | None) -> CardTouch | None:
    return CardTouch.model_validate(touch.to_dict()) if touch else None


def _ledger(model: ScoringModel, lead: LeadScore, now: datetime) -> list[LedgerEntry]:
    behaviour = [
        LedgerEntry(
            rule_id=rule_id,
            label=model.label(rule_id),
            kind="behaviour",
            points=points,
            times=times,
            counting=round(model.decay(lead.weights.get(rule_id, 0.0), lead.as_of, now), 3),
        )
        for rule_id, (points, times) in lead.contributions.items()
    ]
    fit = [
        LedgerEntry(rule_id=rule_id, label=model.label(rule_id), kind="fit", points=points)
        for rule_id, points in lead.fit_points.items()
    ]
    return sorted([*behaviour, *fit], key=lambda e: (-abs(e.points), e.rule_id))


def stage_change(transition: Transition) -> StageChange:
    return StageChange(
        transition_id=transition.id,
        from_stage=transition.from_stage.value,
        to_stage=transition.to_stage.value,
        at=transition.at,
        score=transition.score,
        by=transition.by or "scoring",
        model_version=transition.model_version,
        reason=transition.reason,
        amount=transition.amount,
        currency=transition.currency,
        hand_raiser=transition.hand_raiser,
        rescored=transition.rescored,
        reasons=[CardReason(label=r.label, points=r.points) for r in transition.reasons],
    )


def qualification(framework: Framework, answers: Mapping[str, Answer]) -> Qualification:
    """The lead's answers as the active framework asks them (answers to other criteria are not shown)."""
    answered = frozenset(c for c in framework.ids if c in answers)
    criteria = []
    for criterion in framework.criteria:
        given = answers.get(criterion.id)
        criteria.append(
            CriterionAnswer(
                id=criterion.id,
                label=criterion.label,
                question=criterion.question,
                required=criterion.required,
                answer=given.text if given else None,
                by=given.by if given else None,
                at=given.at if given else None,
            )
        )
    return Qualification(
        framework=framework.name,
        criteria=criteria,
        answered=[c for c in framework.ids if c in answered],
        missing_required=framework.missing_required(answered),
        completeness=framework.completeness(answered),
    )


def _activity(lead_id: str, event: BehaviourEvent) -> Activity:
    return Activity(
        at=event.at,
        type=event.type.value,
        name=event.name or event.title,
        path=event.path,
        form_id=event.form_id,
        channel=event.touch.channel.value if event.touch else None,
        campaign=event.touch.campaign if event.touch else None,
        lead_id=lead_id,
    )


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _owner(sales: Mapping[str, Any]) -> Owner | None:
    assigned = _moment(sales.get("owner_at"))
    owner = sales.get("owner")
    return Owner(user=owner, assigned_at=assigned) if owner and assigned else None


def _sla(sales: Mapping[str, Any]) -> Sla | None:
    sla = sales.get("sla") or {}
    started, due = _moment(sla.get("started_at")), _moment(sla.get("due_at"))
    if sla.get("state") not in ("running", "met", "breached") or started is None or due is None:
        return None
    return Sla(
        state=sla["state"],
        started_at=started,
        due_at=due,
        acted_at=_moment(sla.get("acted_at")),
        acted_by=sla.get("acted_by"),
        breached_at=_moment(sla.get("breached_at")),
    )


def lead_card(
    model: ScoringModel,
    lead: LeadScore,
    profile: Profile | None,
    history: Iterable[Transition],
    events: Iterable[tuple[str, BehaviourEvent]],
    merged: Iterable[str],
    account: AccountCard | None,
    now: datetime,
    qualified: Qualification | None = None,
    notes: Iterable[Note] = (),
    sales: Mapping[str, Any] | None = None,
    likelihood: Likelihood | None = None,
) -> LeadCard:
    """The card of `lead` (a root: merged leads are folded into its score) as of `now`. `events` are the
    behaviour events of the lead and of the leads merged into it, as (lead id, event), in any order.
    `sales`: STATE's sales workflow fields (StoredScore.sales): owner, owner_at, sla. `likelihood`: the
    predictive likelihood STATE holds (StoredScore.likelihood)."""
    engagement = model.decay(lead.behaviour, lead.as_of, now)
    found = sorted(events, key=lambda pair: (pair[1].at, pair[1].message_id), reverse=True)
    contact = profile or Profile(lead_id=lead.lead_id)
    return LeadCard(
        lead_id=lead.lead_id,
        merged_leads=sorted(merged),
        contact=Contact(
            name=contact.name,
            title=contact.title,
            company=contact.company,
            email=contact.email,
            phone=contact.phone,
        ),
        stage=lead.stage.value,
        stage_history=[stage_change(t) for t in history],
        score=Score(
            total=round(engagement + lead.fit, 1),
            fit=lead.fit,
            engagement=round(engagement, 1),
            engagement_at_last_activity=round(lead.behaviour, 1),
            last_scored=lead.as_of,
            half_life_days=model.half_life_days,
            model_version=model.version,
            ledger=_ledger(model, lead, now),
        ),
        likelihood=card_likelihood(likelihood),
        model_version=lead.model_version,
        activity=[_activity(lead_id, event) for lead_id, event in found[:ACTIVITY_LIMIT]],
        activity_stored=len(found),
        first_touch=_touch(lead.first_touch),
        last_touch=_touch(lead.last_touch),
        first_seen=lead.first_seen,
        last_seen=lead.last_seen,
        sessions=lead.sessions,
        page_views=lead.page_views,
        account=account,
        qualification=qualified,
        notes=list(notes),
        owner=_owner(sales or {}),
        sla=_sla(sales or {}),
        as_of=now,
    )
