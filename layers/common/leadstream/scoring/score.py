"""Lead scoring: behaviour and fit points, decay with inactivity, stage thresholds.

Everything here is O(1) per event: a lead's score is a stored value with the time it was valid at
(``as_of``); decay is evaluated from those two numbers, never by re-reading history. The exception is
``rebuild``: a lead scored again from its stored events, for the operator's redrive only.

Rule caps (``max_times``) apply to what still counts: each occurrence of a rule weighs 1 when it happens
and fades with the same half-life as its points (``LeadScore.weights``). An occurrence earns the rule's
points only while the rule's faded weight leaves room for a whole one, so a view from years ago weighs
nothing and cannot use up today's points, while views of the same day still stop at the cap.

Hand-raise and PQL rules move a lead whatever its score. A rule that fired (a hand-raise, or a PQL rule's
usage reached) is a signal: a known lead acts on it at once (SQL, or PQL from `lead` or MQL, a sideways move
that only a PQL rule makes); an anonymous one keeps it (`signals`) until it identifies, for the rule's
`pending_days`. A PQL rule's usage is counted with the times of its latest `min_times - 1` matching events
(`usage`): a bounded list per rule, exact for "5 within 14 days", however long the lead's history.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from leadstream.predictive.model import Likelihood
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import BehaviourRule, HandRaiseRule, PqlRule, ScoringModel
from leadstream.tracking.attribution import Channel, Touch
from leadstream.tracking.events import BehaviourEvent, EventType

SESSION_TIMEOUT = timedelta(minutes=30)  # a visit ends after 30 minutes without activity
# Weights below this are forgotten (an occurrence about ten half-lives old): STATE stays small.
MIN_WEIGHT = 0.001
_TOLERANCE = 1e-6  # float noise in faded weights: an occurrence the same second is not "over" the cap


@dataclass(frozen=True)
class Reason:
    rule_id: str
    label: str
    points: int


@dataclass(frozen=True)
class Transition:
    id: str
    from_stage: Stage
    to_stage: Stage
    at: datetime
    score: float
    reasons: tuple[Reason, ...] = ()  # the top reasons at that moment: what sales is told
    # Who moved it: None is the scoring model (of `model_version`); otherwise the user (their e-mail).
    by: str | None = None
    model_version: int | None = None
    reason: str | None = None  # why, in the words of whoever moved it (a rejection's, a loss's)
    amount: float | None = None  # a won (or lost) deal's value
    currency: str | None = None
    hand_raiser: bool = False  # sent to sales by a hand-raise rule, whatever its score
    # every fit rule's points then, so sales sees the score's split (scoring's moves; None: people's)
    fit: tuple[Reason, ...] | None = None
    # the predictive likelihood then (ScoreFunction's, when one is configured): shown, never deciding
    likelihood: Likelihood | None = None
    # recorded by a rescore (`scoring.rescore`): where the model of `model_version` would have moved the lead
    # then, found afterwards; never published nor notified
    rescored: bool = False


@dataclass(frozen=True)
class LeadScore:
    """The small, hot item kept per lead. Contributions are kept per rule: [points earned, times]."""

    lead_id: str
    behaviour: float = 0.0
    as_of: datetime | None = None
    stage: Stage = Stage.LEAD
    known: bool = False
    contributions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Per rule, how many of its occurrences still count at `as_of`: each weighs 1 when it happens and
    # fades as behaviour points do. The caps (max_times) apply to these, not to the counts above.
    weights: dict[str, float] = field(default_factory=dict)
    fit_points: dict[str, int] = field(default_factory=dict)
    first_touch: Touch | None = None
    last_touch: Touch | None = None  # of the latest session that did not come direct
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_visit: datetime | None = None  # last page or screen view: sessions are counted from it
    events: int = 0
    page_views: int = 0
    sessions: int = 0
    transition_count: int = 0
    # the business its latest visit's network names (a domain, from firmographics): no account of its own,
    # a claim the account roll-up weighs against stronger ones (accounts.membership)
    company: str | None = None
    # Transitions made by the update that produced this state (the outbox); empty otherwise.
    transitions: tuple[Transition, ...] = ()
    # PQL rule -> when its latest (min_times - 1) matching events happened, oldest first
    usage: dict[str, tuple[datetime, ...]] = field(default_factory=dict)
    # hand-raise or PQL rule -> when it fired, waiting for the lead to be known (an anonymous visitor's)
    signals: dict[str, datetime] = field(default_factory=dict)
    # the version of the scoring model that computed this score (None: scored before versions were kept)
    model_version: int | None = None

    @property
    def fit(self) -> int:
        return sum(self.fit_points.values())

    @property
    def worth_listing(self) -> bool:
        """Whether sales lists the lead: a known contact, or one past `lead` (an anonymous visitor is not)."""
        return self.known or self.stage is not Stage.LEAD

    def score_at(self, model: ScoringModel, when: datetime) -> float:
        return model.decay(self.behaviour, self.as_of, when) + self.fit

    def reasons(self, model: ScoringModel, top: int = 4) -> list[Reason]:
        earned = [(rid, pts) for rid, (pts, _n) in self.contributions.items()]
        earned += list(self.fit_points.items())
        earned.sort(key=lambda item: abs(item[1]), reverse=True)
        return [Reason(rid, model.label(rid), pts) for rid, pts in earned[:top] if pts]

    def fit_reasons(self, model: ScoringModel) -> tuple[Reason, ...]:
        """Every fit rule that counts, the largest first: the honest half of the score."""
        fit = sorted(self.fit_points.items(), key=lambda item: (-abs(item[1]), item[0]))
        return tuple(Reason(rid, model.label(rid), pts) for rid, pts in fit if pts)


def _behaviour_rule(model: ScoringModel, event: BehaviourEvent) -> BehaviourRule | None:
    return next((rule for rule in model.behaviour if rule.match.matches(event)), None)


def _faded(
    model: ScoringModel, weights: dict[str, float], since: datetime | None, until: datetime
) -> dict[str, float]:
    """Every rule's weight brought from `since` to `until` (the ones faded to nothing are forgotten)."""
    factor = model.decay(1.0, since, until)
    if factor == 1.0:
        return dict(weights)
    return {rule: w * factor for rule, w in weights.items() if w * factor >= MIN_WEIGHT}


def _has_room(rule: BehaviourRule, weight: float) -> bool:
    return rule.max_times is None or weight + 1 <= rule.max_times + _TOLERANCE


def _apply_one(model: ScoringModel, state: LeadScore, event: BehaviourEvent) -> LeadScore:
    contributions = state.contributions
    weights = state.weights
    behaviour = state.behaviour
    as_of = state.as_of
    rule = _behaviour_rule(model, event)
    if rule is not None and (as_of is None or event.at >= as_of):
        weight = model.decay(weights.get(rule.id, 0.0), as_of, event.at)
        if _has_room(rule, weight):
            weights = {**_faded(model, weights, as_of, event.at), rule.id: weight + 1}
            behaviour = model.decay(behaviour, as_of, event.at) + rule.points
            as_of = event.at
    elif rule is not None and as_of is not None:
        # A late event: its points have decayed as long as it is old, and so has its weight. Its room under
        # the cap is judged as if it happened now, so an old event never takes the place of a new one.
        weight = weights.get(rule.id, 0.0)
        if _has_room(rule, weight):
            age = model.decay(1.0, event.at, as_of)
            weights = {**weights, rule.id: weight + age}
            behaviour += rule.points * age
    if rule is not None and weights is not state.weights:  # the rule earned
        points, times = contributions.get(rule.id, (0, 0))
        contributions = {**contributions, rule.id: (points + rule.points, times + 1)}

    fit_points = dict(state.fit_points)
    for fit_rule in model.fit:
        value = event.fit_traits.get(fit_rule.trait)
        if value is None:
            continue
        if fit_rule.matches(value):
            fit_points[fit_rule.id] = fit_rule.points
        else:
            fit_points.pop(fit_rule.id, None)

    usage, signals = _signals(model, state, event)
    known = state.known or (
        event.type in (EventType.IDENTIFY, EventType.FORM) and "email_kind" in (event.fit_traits)
    )
    first_touch = state.first_touch
    if event.touch is not None and (
        first_touch is None or state.first_seen is None or event.at < state.first_seen
    ):
        first_touch = event.touch
    first_seen = event.at if state.first_seen is None or event.at < state.first_seen else state.first_seen
    last_seen = event.at if state.last_seen is None or event.at > state.last_seen else state.last_seen
    latest = state.last_seen is None or event.at >= state.last_seen
    company = event.company if event.company and (latest or state.company is None) else state.company
    # A session is a run of visits (page or screen views) without a 30-minute gap; other activity (an
    # identify, a track call) neither starts nor extends one. A click in an e-mail is a touch of its own.
    visit = event.type in (EventType.PAGE, EventType.SCREEN)
    new_session = visit and (state.last_visit is None or event.at - state.last_visit > SESSION_TIMEOUT)
    last_visit = state.last_visit
    if visit and (last_visit is None or event.at > last_visit):
        last_visit = event.at
    last_touch = state.last_touch
    touching = new_session or event.type is EventType.EMAIL_CLICK
    if touching and event.touch is not None and (last_touch is None or event.touch.channel != Channel.DIRECT):
        last_touch = event.touch
    return replace(
        state,
        behaviour=behaviour,
        as_of=as_of,
        contributions=contributions,
        weights=weights,
        fit_points=fit_points,
        known=known,
        first_touch=first_touch,
        last_touch=last_touch,
        first_seen=first_seen,
        last_seen=last_seen,
        last_visit=last_visit,
        events=state.events + 1,
        page_views=state.page_views + visit,
        sessions=state.sessions + new_session,
        company=company,
        usage=usage,
        signals=signals,
    )


def _window(rule: PqlRule, times: list[datetime]) -> datetime | None:
    """When `times` (sorted) first hold `min_times` events within the rule's window; None if never."""
    n = rule.min_times
    span = timedelta(days=rule.within_days) if rule.within_days is not None else None
    for first, last in zip(times, times[n - 1 :], strict=False):
        if span is None or last - first <= span:
            return last
    return None


def _signals(
    model: ScoringModel, state: LeadScore, event: BehaviourEvent
) -> tuple[dict[str, tuple[datetime, ...]], dict[str, datetime]]:
    """The usage counted and the signals fired once `event` is applied. A hand-raise rule fires on its
    first matching event; a PQL rule once its usage reaches `min_times` within `within_days`."""
    usage, signals = state.usage, state.signals
    hand = next((rule for rule in model.hand_raise if rule.match.matches(event)), None)
    if hand is not None:
        signals = {**signals, hand.id: max(event.at, signals.get(hand.id, event.at))}
    for rule in model.pql:
        if not rule.match.matches(event):
            continue
        times = sorted([*usage.get(rule.id, ()), event.at])
        if _window(rule, times) is not None:
            signals = {**signals, rule.id: max(event.at, signals.get(rule.id, event.at))}
        usage = {k: v for k, v in usage.items() if k != rule.id}
        if kept := _kept(rule, times):
            usage[rule.id] = kept
    return usage, signals


def _kept(rule: PqlRule, times: list[datetime]) -> tuple[datetime, ...]:
    """The latest `min_times - 1` of `times` (sorted): all a later event needs to reach the rule."""
    return tuple(times[max(0, len(times) - (rule.min_times - 1)) :])


def _signalled(
    model: ScoringModel, state: LeadScore, at: datetime
) -> tuple[HandRaiseRule | PqlRule | None, dict[str, datetime]]:
    """The rule whose signal moves the lead now (a hand-raise before a PQL rule), and the signals left: a
    known lead uses them all up; an anonymous one keeps those still within their rule's `pending_days`."""
    rules: list[HandRaiseRule | PqlRule] = [*model.hand_raise, *model.pql]
    live = {
        rule: state.signals[rule.id]
        for rule in rules
        if rule.id in state.signals and at - state.signals[rule.id] <= timedelta(days=rule.pending_days)
    }
    if not state.known:
        return None, {rule.id: when for rule, when in live.items()}
    moving: list[HandRaiseRule | PqlRule] = [
        r for r in live if isinstance(r, HandRaiseRule) and state.stage.rank < Stage.SQL.rank
    ]
    moving += [r for r in live if isinstance(r, PqlRule) and state.stage in (Stage.LEAD, Stage.MQL)]
    return next(iter(moving), None), {}


def _advance(model: ScoringModel, state: LeadScore, at: datetime) -> LeadScore:
    # Compared as shown (one decimal): 25 + 40 + 10 earned a second apart is 75, not 74.99999.
    score = round(state.score_at(model, at), 1)
    reached = [
        t.stage
        for t in model.stages
        if score >= t.min_score and (state.known or not t.requires_known) and t.stage.rank > state.stage.rank
    ]
    rule, signals = _signalled(model, state, at) if state.signals else (None, state.signals)
    if signals != state.signals:
        state = replace(state, signals=signals)
    # A rule moves the lead only where its score would not: a hand-raiser that scored an SQL is an SQL.
    if isinstance(rule, HandRaiseRule) and Stage.SQL not in reached:
        reached.append(Stage.SQL)
    elif isinstance(rule, PqlRule) and all(stage.rank <= Stage.PQL.rank for stage in reached):
        reached = [Stage.PQL]  # beside MQL: product usage says more than the score's MQL
    else:
        rule = None
    if not reached:
        return state
    target = max(reached, key=lambda stage: stage.rank)
    count = state.transition_count + 1
    trigger = (Reason(rule.id, rule.label, 0),) if rule is not None else ()
    transition = Transition(
        f"{state.lead_id}:{target.value}:{count}",
        state.stage,
        target,
        at,
        score,
        (*trigger, *state.reasons(model)),
        model_version=model.version,
        hand_raiser=isinstance(rule, HandRaiseRule),
        fit=state.fit_reasons(model),
    )
    return replace(state, stage=target, transition_count=count, transitions=(*state.transitions, transition))


def apply_events(model: ScoringModel, state: LeadScore, events: list[BehaviourEvent]) -> LeadScore:
    """Apply new events (in arrival order) to a lead's score and move its stage forward.

    The result carries the transitions this update made, which the outbox publishes.
    """
    state = replace(state, transitions=(), model_version=model.version)
    for event in events:
        state = _apply_one(model, state, event)
        state = _advance(model, state, event.at)
    return state


def merge(model: ScoringModel, into: LeadScore, other: LeadScore) -> LeadScore:
    """Fold an anonymous lead's history into the known lead it turned out to be.

    Rule caps (max_times) hold across the merge: where both leads' occurrences of a rule, faded to the
    merged score's time, weigh more than the cap, the points of the excess are taken off again.
    """
    if other.as_of is None:
        behaviour, as_of = into.behaviour, into.as_of
    elif into.as_of is None or other.as_of > into.as_of:
        behaviour = model.decay(into.behaviour, into.as_of, other.as_of) + other.behaviour
        as_of = other.as_of
    else:
        behaviour = into.behaviour + model.decay(other.behaviour, other.as_of, into.as_of)
        as_of = into.as_of
    caps = {rule.id: rule for rule in model.behaviour}
    mine = _faded(model, into.weights, into.as_of, as_of) if as_of else dict(into.weights)
    theirs = _faded(model, other.weights, other.as_of, as_of) if as_of else dict(other.weights)
    weights = {**mine}
    contributions = dict(into.contributions)
    for rule_id in dict.fromkeys([*other.contributions, *theirs]):
        weight = mine.get(rule_id, 0.0) + theirs.get(rule_id, 0.0)
        mine_points, mine_times = contributions.get(rule_id, (0, 0))
        points, times = other.contributions.get(rule_id, (0, 0))
        rule = caps.get(rule_id)
        if rule is not None and rule.max_times is not None and weight > rule.max_times + _TOLERANCE:
            behaviour -= rule.points * (weight - rule.max_times)
            weight = float(rule.max_times)
            # the occurrences the cap took off are the other lead's, as far as its own ones go
            kept = max(0, min(times, max(rule.max_times, mine_times) - mine_times))
            points, times = (points * kept // times if times else 0), kept
        if weight >= MIN_WEIGHT:
            weights[rule_id] = weight
        else:
            weights.pop(rule_id, None)
        if mine_times or times:
            contributions[rule_id] = (mine_points + points, mine_times + times)
    usage, signals = _merged_signals(model, into, other)
    other_first = other.first_seen is not None and (
        into.first_seen is None or other.first_seen < into.first_seen
    )
    first_touch = other.first_touch if other_first and other.first_touch else into.first_touch
    first_seen = other.first_seen if other_first else into.first_seen
    return replace(
        into,
        behaviour=behaviour,
        as_of=as_of,
        contributions=contributions,
        weights=weights,
        fit_points={**other.fit_points, **into.fit_points},
        first_touch=first_touch,
        first_seen=first_seen,
        last_touch=into.last_touch or other.last_touch,
        events=into.events + other.events,
        page_views=into.page_views + other.page_views,
        sessions=into.sessions + other.sessions,
        company=into.company or other.company,
        usage=usage,
        signals=signals,
        model_version=model.version,
    )


def _merged_signals(
    model: ScoringModel, into: LeadScore, other: LeadScore
) -> tuple[dict[str, tuple[datetime, ...]], dict[str, datetime]]:
    """Both leads' PQL usage counted together (a rule their usage reaches only together fires) and both
    leads' signals: the merged lead acts on them with its next event (as on a threshold the merge reached)."""
    signals = dict(into.signals)
    for rule_id, when in other.signals.items():
        signals[rule_id] = max(when, signals.get(rule_id, when))
    usage: dict[str, tuple[datetime, ...]] = {}
    for rule in model.pql:
        times = sorted([*into.usage.get(rule.id, ()), *other.usage.get(rule.id, ())])
        reached = _window(rule, times) if rule.id in other.usage and rule.id in into.usage else None
        if reached is not None:
            signals[rule.id] = max(reached, signals.get(rule.id, reached))
        if kept := _kept(rule, times):
            usage[rule.id] = kept
    return usage, signals


def rebuild(model: ScoringModel, current: LeadScore, events: Iterable[BehaviourEvent]) -> LeadScore:
    """`current`'s score recomputed from `events` (each message once, in the order they happened).

    The stage and the transitions made so far are kept: a stage above `current`'s is a new transition.
    Fit points, `known`, an earlier first touch and the signals still waiting for the lead to identify
    carry over (their events may have expired), and the counts never go below what STATE had counted. PQL
    usage is counted again from the events (a window of days: its events are still stored)."""
    ordered = sorted({e.message_id: e for e in events}.values(), key=lambda e: (e.at, e.message_id))
    start = LeadScore(
        lead_id=current.lead_id,
        stage=current.stage,
        known=current.known,
        fit_points=dict(current.fit_points),
        transition_count=current.transition_count,
        signals=dict(current.signals),  # an anonymous lead's hand-raise waits on, even if its event expired
    )
    return carried_over(apply_events(model, start, ordered), current)


def carried_over(fresh: LeadScore, current: LeadScore) -> LeadScore:
    """`fresh`, a score recomputed from the events at hand, with what STATE (`current`) knows that those
    events may not (some expired, or are older than the archive): an earlier first touch, later visits,
    counts never below STATE's, a company. What a rebuild and a rescore both keep."""
    earlier = current.first_seen is not None and (
        fresh.first_seen is None or current.first_seen < fresh.first_seen
    )
    return replace(
        fresh,
        first_seen=current.first_seen if earlier else fresh.first_seen,
        first_touch=current.first_touch if earlier and current.first_touch else fresh.first_touch,
        last_touch=fresh.last_touch or current.last_touch,
        last_seen=_latest(fresh.last_seen, current.last_seen),
        last_visit=_latest(fresh.last_visit, current.last_visit),
        events=max(fresh.events, current.events),
        page_views=max(fresh.page_views, current.page_views),
        sessions=max(fresh.sessions, current.sessions),
        company=fresh.company or current.company,
    )


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def unmerged(model: ScoringModel, current: LeadScore, events: Iterable[BehaviourEvent]) -> LeadScore:
    """`current`'s score recomputed from nothing but `events`, after a wrong merge was undone: what the
    merged lead brought (points, fit, a stage, counts) goes, so nothing carries over from `current` but
    its transition count (ids stay unique). Its stage may go back; a stage `current` had is no
    transition (sales heard of it already), a stage above it is."""
    ordered = sorted({e.message_id: e for e in events}.values(), key=lambda e: (e.at, e.message_id))
    fresh = apply_events(model, LeadScore(lead_id=current.lead_id), ordered)
    count = current.transition_count
    new: list[Transition] = []
    for t in fresh.transitions:
        if t.to_stage.rank > current.stage.rank or _sideways(current.stage, t.to_stage):
            count += 1
            start = t.from_stage if t.from_stage.rank > current.stage.rank else current.stage
            new.append(replace(t, id=f"{current.lead_id}:{t.to_stage.value}:{count}", from_stage=start))
    return replace(fresh, transition_count=count, transitions=tuple(new))


def _sideways(stage: Stage, to: Stage) -> bool:
    """MQL to PQL: the one move to a stage of the same rank, a PQL rule's."""
    return stage is Stage.MQL and to is Stage.PQL
