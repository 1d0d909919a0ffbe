"""Account scoring: engagement rolled up from the strongest leads, fit, buying committee, stages, surges.

Everything here is O(1) per lead change: an account never reads its members. What it keeps:

- ``AccountState``, one per account, bounded whatever the number of people: a *board* of at most
  ``engagement.keep`` leads with the most behaviour points (points, ``as_of``, title, role), people per
  committee role, the engaged-people count with its scheduled changes by day (as many days as it takes
  the strongest lead's points to fade below the threshold: a few half-lives, not a number of people), the
  account's traits, one snapshot per day of the surge window, and counters.
- ``MemberMark``, one per member, stored with the membership and read by its key: the lead's version, role
  and engaged span that the account last counted. A change is applied as "take the mark's contribution
  out, put the change's in", so the mark is what makes a change a replaceable delta. Why not let the
  change carry the lead's previous role and score (from the stream's old image)? That is right only when
  every image is applied exactly once and in order, which an at-least-once stream does not promise; and a
  lead→role map in the account state grows with every "Engineer" of a 10,000-person company.

Guarantees:

- Idempotent replay: a change whose version is not newer than the member's mark changes nothing (no state,
  no events), so replaying any batch twice leaves every account as it was. An older change arriving after
  a newer one is ignored the same way.
- Order independence: people, people per role and engaged people are sums over each member's latest
  version, exactly, whatever the order changes arrive in. The board, and so the engagement, is too, with
  the one approximation below. Stage changes and surges are moments: they depend on what had arrived when
  (as a lead's stage does).
- Decay: engagement is made of the leads' stored behaviour points and their ``as_of``, decayed by the lead
  scoring model's own ``decay`` (one half-life), so an account of one lead (first weight 1) decays exactly
  like that lead's behaviour points. The board's order never changes with time alone (every entry fades
  by the same factor), so it needs no upkeep between changes.
- Engaged people decay too, to the day: a change schedules the day its lead's score falls below (or, for
  a lead whose negative points fade, climbs to) the engaged threshold; the count folds those days in as
  time passes. A lead counts through the day it crosses.
- Surges compare with the account as it was a window ago, to the day (the day's latest snapshot before
  that moment), and an account surges at most once per cool-down.
- Stages never move back through scoring. An event's id is derived from the account and the change that
  caused it (``<domain>:<stage>:<lead>@<version>``), so an outbox can dedupe a retried batch.

The one approximation: the board forgets the leads below its ``keep`` strongest. If board leads lose
points (a lead leaves, or its new version has fewer points) while a forgotten lead has more, the forgotten
one is missing from the roll-up until its next change. With ``keep`` well above the number of weights,
that takes several strong leads going quiet at once, and the roll-up then undercounts; it never counts a
lead twice or counts one that has no points.
"""

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from leadstream.accounts.model import AccountModel, AccountStage
from leadstream.contracts.events import AccountCard, AccountStageChanged, AccountSurged, CardPerson
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

_DAY = 86400
Span = tuple[int | None, int | None]  # days since the epoch, [start, end); None is open
AccountEvent = AccountStageChanged | AccountSurged


def day_of(when: datetime) -> int:
    """The UTC day (since the epoch) a moment falls in."""
    return math.floor(when.timestamp() / _DAY)


@dataclass(frozen=True)
class LeadChange:
    """One version of a lead, as its account needs it: points, fit, title. Nothing personal."""

    lead_id: str
    version: int  # the lead's own sequence: a higher version supersedes a lower one
    at: datetime  # when the lead changed
    behaviour: float = 0.0  # LeadScore.behaviour: behaviour points at `as_of`
    as_of: datetime | None = None
    fit: int = 0
    title: str | None = None
    member: bool = True  # False: the lead left the account (merged into another lead, erased, moved)
    basis: str | None = None  # why it counts here (accounts.membership.Basis)
    anonymous: bool = False  # nobody knows who it is yet (no e-mail): "an anonymous visitor from ..."

    @classmethod
    def of(cls, lead: LeadScore, version: int, at: datetime, title: str | None) -> "LeadChange":
        return cls(
            lead.lead_id, version, at, lead.behaviour, lead.as_of, lead.fit, title, anonymous=not lead.known
        )

    @classmethod
    def left(cls, lead_id: str, version: int, at: datetime) -> "LeadChange":
        return cls(lead_id, version, at, member=False)


@dataclass(frozen=True)
class MemberMark:
    """What the account last counted of one member (stored with the membership, read by key)."""

    lead_id: str
    version: int = 0
    member: bool = False
    role: str | None = None
    engaged: Span | None = None  # the days during which the lead counts as an engaged person
    basis: str | None = None  # why it counted here (accounts.membership.Basis)
    anonymous: bool = False


@dataclass(frozen=True)
class BoardEntry:
    behaviour: float
    as_of: datetime | None
    title: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The account's engagement and engaged people at a moment: the surge window's memory (one a day)."""

    at: datetime
    engagement: float
    engaged: int


@dataclass(frozen=True)
class AccountState:
    domain: str
    stage: AccountStage = AccountStage.ACCOUNT
    as_of: datetime | None = None  # the latest moment a change was applied at
    people: int = 0
    anonymous: int = 0  # of the people, those nobody knows yet (visitors by their network)
    board: dict[str, BoardEntry] = field(default_factory=dict)  # the strongest leads, at most `keep`
    roles: dict[str, int] = field(default_factory=dict)  # people per committee role (absent: none)
    engaged: int = 0  # engaged people on `engaged_day`
    engaged_day: int | None = None
    engaged_changes: dict[int, int] = field(default_factory=dict)  # later days → change of the count
    traits: dict[str, str] = field(default_factory=dict)  # the ones fit rules read, and the name
    traits_version: int = 0
    recent: tuple[Snapshot, ...] = ()
    last_surge_at: datetime | None = None

    def ranked(self, leads: ScoringModel, when: datetime) -> list[tuple[str, float]]:
        """Board leads by their behaviour points at `when`, strongest first (ties by lead id)."""
        points = [(lead, leads.decay(e.behaviour, e.as_of, when)) for lead, e in self.board.items()]
        return sorted(points, key=lambda item: (-item[1], item[0]))

    def engagement_at(self, model: AccountModel, leads: ScoringModel, when: datetime) -> float:
        top = self.ranked(leads, when)
        return sum(w * p for w, (_lead, p) in zip(model.engagement.weights, top, strict=False))

    def engaged_at(self, when: datetime) -> int:
        """Engaged people at `when` (at or after the latest change)."""
        today = day_of(when)
        return self.engaged + sum(n for d, n in self.engaged_changes.items() if d <= today)

    def covered(self) -> set[str]:
        return {role for role, n in self.roles.items() if n > 0}

    def fit(self, model: AccountModel) -> int:
        return sum(model.fit_points({**self.traits, "domain": self.domain}).values())

    def score_at(self, model: AccountModel, leads: ScoringModel, when: datetime) -> float:
        engagement = self.engagement_at(model, leads, when)
        return engagement + self.fit(model) + model.committee_points(self.covered())

    def card(self, model: AccountModel, leads: ScoringModel, when: datetime) -> AccountCard:
        top = self.ranked(leads, when)[: len(model.engagement.weights)]
        covered = self.covered()
        return AccountCard(
            domain=self.domain,
            name=self.traits.get("name"),
            score=round(self.score_at(model, leads, when), 1),
            stage=self.stage.value,
            engagement=round(self.engagement_at(model, leads, when), 1),
            fit=self.fit(model),
            coverage=round(model.coverage(covered), 3),
            roles={role.id: self.roles.get(role.id, 0) for role in model.committee},
            engaged_people=self.engaged_at(when),
            people=self.people,
            anonymous_people=self.anonymous,
            top_people=[
                CardPerson(
                    lead_id=lead, title=self.board[lead].title, role=self.board[lead].role, points=round(p, 1)
                )
                for lead, p in top
            ],
        )


@dataclass(frozen=True)
class ScorePoint:
    """Where the account stood at a moment: its score history keeps the day's latest point, one a day."""

    at: datetime
    stage: AccountStage
    score: float
    engagement: float
    fit: int
    committee: int
    engaged: int
    people: int


def score_point(model: AccountModel, leads: ScoringModel, state: AccountState) -> ScorePoint | None:
    """The point of the state as of its latest change (None: no change applied yet): O(1), as the card."""
    if state.as_of is None:
        return None
    card = state.card(model, leads, state.as_of)
    return ScorePoint(
        at=state.as_of,
        stage=state.stage,
        score=card.score,
        engagement=card.engagement,
        fit=card.fit,
        committee=model.committee_points(state.covered()),
        engaged=card.engaged_people,
        people=state.people,
    )


@dataclass(frozen=True)
class Applied:
    """An account after an update, the events it made (for the outbox) and, for a lead change, the
    member's new mark (saved with the state, in one transaction)."""

    state: AccountState
    events: tuple[AccountEvent, ...] = ()
    mark: MemberMark | None = None


def engaged_span(model: AccountModel, leads: ScoringModel, change: LeadChange) -> Span | None:
    """The days during which this version of the lead scores at least the engaged threshold: its score is
    behaviour decayed from `as_of` plus fit, so it falls below (or climbs back to) the threshold on a day
    known now. None if never."""
    if not change.member:
        return None
    gap = model.engagement.engaged_lead_score - change.fit  # what behaviour points must make up
    points, as_of = change.behaviour, change.as_of
    if as_of is None or points == 0 or (points > 0 and gap <= 0):
        return (None, None) if gap <= 0 else None
    half_life = timedelta(days=leads.half_life_days)
    if points > 0:
        if points < gap:
            return None
        return None, day_of(as_of + half_life * math.log2(points / gap)) + 1
    if gap >= 0:  # negative points only fade towards the fit, which is short of the threshold
        return None
    if -points <= -gap:
        return None, None
    return day_of(as_of + half_life * math.log2(points / gap)), None


def _count(engaged: int, changes: dict[int, int], today: int, span: Span, sign: int) -> int:
    """Count a span in (sign 1) or out (-1) as of `today`: into the count if it holds today, into the
    scheduled changes for what is still to come. Updates `changes` in place; returns the count."""
    start, end = span
    if (start is None or start <= today) and (end is None or end > today):
        engaged += sign
    for day, step in ((start, sign), (end, -sign)):
        if day is not None and day > today:
            changes[day] = changes.get(day, 0) + step
            if changes[day] == 0:
                del changes[day]
    return engaged


def _board(
    model: AccountModel,
    leads: ScoringModel,
    state: AccountState,
    change: LeadChange,
    role: str | None,
    now: datetime,
) -> dict[str, BoardEntry]:
    board = {lead: entry for lead, entry in state.board.items() if lead != change.lead_id}
    if change.member and change.behaviour > 0:
        board[change.lead_id] = BoardEntry(change.behaviour, change.as_of, change.title, role)
    if len(board) > model.engagement.keep:
        strongest = replace(state, board=board).ranked(leads, now)[: model.engagement.keep]
        board = {lead: board[lead] for lead, _points in strongest}
    return board


def _remember(model: AccountModel, recent: tuple[Snapshot, ...], snapshot: Snapshot) -> tuple[Snapshot, ...]:
    """The day's latest snapshot replaces that day's earlier one; of those older than the window, only the
    latest is kept (it is the window's baseline)."""
    today = day_of(snapshot.at)
    kept = [s for s in recent if day_of(s.at) != today and s.at < snapshot.at] + [snapshot]
    since = snapshot.at - timedelta(days=model.surge.window_days)
    older = [s for s in kept if s.at <= since]
    return (*older[-1:], *(s for s in kept if s.at > since))


def _advance(
    model: AccountModel, leads: ScoringModel, state: AccountState, now: datetime, trigger: str
) -> tuple[AccountState, list[AccountEvent]]:
    # Compared as shown (one decimal), as a lead's score is.
    score = round(state.score_at(model, leads, now), 1)
    engaged, covered = state.engaged_at(now), len(state.covered())
    reached = [
        t
        for t in model.stages
        if score >= t.min_score
        and engaged >= t.min_engaged_people
        and covered >= t.min_roles_covered
        and t.stage.rank > state.stage.rank
    ]
    if not reached:
        return state, []
    target = max(reached, key=lambda t: t.stage.rank).stage
    moved = replace(state, stage=target)
    change = AccountStageChanged(
        change_id=f"{state.domain}:{target.value}:{trigger}",
        domain=state.domain,
        from_stage=state.stage.value,
        to_stage=target.value,
        changed_at=now,
        card=moved.card(model, leads, now),
    )
    return moved, [change]


def _surge(
    model: AccountModel, leads: ScoringModel, state: AccountState, now: datetime, trigger: str
) -> tuple[AccountState, list[AccountEvent]]:
    rule = model.surge
    if state.last_surge_at is not None and now - state.last_surge_at < timedelta(days=rule.cooldown_days):
        return state, []
    since = now - timedelta(days=rule.window_days)
    base = next((s for s in reversed(state.recent) if s.at <= since), None)
    # Points earned within the window: engagement now, less what the window's start has faded to by now.
    before = leads.decay(base.engagement, base.at, since) if base else 0.0
    gain = state.engagement_at(model, leads, now) - (leads.decay(before, since, now) if base else 0.0)
    joined = state.engaged_at(now) - (base.engaged if base else 0)
    rising = gain >= rule.min_gain and gain >= rule.min_growth * before
    joining = rule.min_new_engaged is not None and joined >= rule.min_new_engaged
    if not (rising or joining):
        return state, []
    surged = replace(state, last_surge_at=now)
    event = AccountSurged(
        surge_id=f"{state.domain}:surge:{trigger}",
        domain=state.domain,
        surged_at=now,
        window_days=rule.window_days,
        engagement_before=round(before, 1),
        engagement_gain=round(gain, 1),
        engaged_people_gain=joined,
        card=surged.card(model, leads, now),
    )
    return surged, [event]


def apply_change(
    model: AccountModel, leads: ScoringModel, state: AccountState, mark: MemberMark, change: LeadChange
) -> Applied:
    """Apply one version of a member to its account: O(1), whatever the number of members.

    `mark` is what the account counted of this lead so far (a fresh ``MemberMark(lead_id)`` for a lead it
    never saw). The result carries the new state, the events it made and the member's new mark.
    """
    if mark.lead_id != change.lead_id:
        raise ValueError("the mark and the change must be of the same lead")
    if change.version <= mark.version:
        return Applied(state, (), mark)
    now = max(t for t in (state.as_of, change.at, change.as_of) if t is not None)
    role = model.role_of(change.title) if change.member else None
    span = engaged_span(model, leads, change)

    roles = dict(state.roles)
    if mark.role is not None:
        roles[mark.role] = roles.get(mark.role, 0) - 1
    if role is not None:
        roles[role] = roles.get(role, 0) + 1
    roles = {r: n for r, n in roles.items() if n > 0}

    today = max(day_of(now), state.engaged_day if state.engaged_day is not None else day_of(now))
    changes = {d: n for d, n in state.engaged_changes.items() if d > today}
    engaged = state.engaged + sum(n for d, n in state.engaged_changes.items() if d <= today)
    if mark.engaged is not None:
        engaged = _count(engaged, changes, today, mark.engaged, -1)
    if span is not None:
        engaged = _count(engaged, changes, today, span, 1)

    state = replace(
        state,
        as_of=now,
        people=state.people + change.member - mark.member,
        anonymous=state.anonymous + (change.member and change.anonymous) - (mark.member and mark.anonymous),
        board=_board(model, leads, state, change, role, now),
        roles=roles,
        engaged=engaged,
        engaged_day=today,
        engaged_changes=changes,
    )
    trigger = f"{change.lead_id}@{change.version}"
    state, staged = _advance(model, leads, state, now, trigger)
    state, surged = _surge(model, leads, state, now, trigger)
    snapshot = Snapshot(now, state.engagement_at(model, leads, now), state.engaged_at(now))
    state = replace(state, recent=_remember(model, state.recent, snapshot))
    new_mark = MemberMark(
        change.lead_id,
        change.version,
        change.member,
        role,
        span,
        change.basis if change.member else None,
        change.member and change.anonymous,
    )
    return Applied(state, (*staged, *surged), new_mark)


def describe(
    model: AccountModel,
    leads: ScoringModel,
    state: AccountState,
    traits: dict[str, str],
    version: int,
    at: datetime,
) -> Applied:
    """Set the account's traits (from a group call; the ones not given are kept). Fit may move its stage.

    `version` orders trait updates (e.g. the call's time in milliseconds): an older or repeated one is a
    no-op.
    """
    if version <= state.traits_version:
        return Applied(state)
    wanted = {rule.trait for rule in model.fit} | {"name"}
    kept = {**state.traits, **{k: v for k, v in traits.items() if k in wanted and v}}
    now = max(at, state.as_of) if state.as_of is not None else at
    state = replace(state, traits=kept, traits_version=version, as_of=now)
    state, staged = _advance(model, leads, state, now, f"traits@{version}")
    return Applied(state, tuple(staged))
