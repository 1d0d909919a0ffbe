"""A backtest: the archive's people replayed under a candidate scoring model and under the live one, judged
against what became of them (pure). What `python -m cli model backtest` prints.

The cohort is everyone first seen in the period (their first event's day); each is replayed from nothing
with their events up to the end of the period (`history.replay`), once per model. Outcomes are the
people's own stage changes in the archive: a person CONVERTED if sales took them to an opportunity or won
them by the end of the period (won counts as converted: a deal can skip the opportunity stage).

Per model:
- stages: how many reached MQL (or beyond: PQL and SQL stand on it, as in the source report), PQL, SQL;
  the median days from first seen to getting there; of them, how many converted and how many were won;
- SQL against conversion: precision (of the SQLs, the share that converted) and recall (of the
  converters, the share the model made SQL);
- the score against conversion: ROC AUC and lift in the top decile, of the score at the JUDGED moment,
  one that cannot see the outcome: the person's first stage change by a person (sales accepting,
  rejecting, ... : the score sales saw then, from the events before it), else the end of the period.
Between them, for the converters: when each model made them SQL (earlier, later, the same moment, only
one of them, neither; the median difference in days). And the live model's replay against what scoring
really did live (the archive's stage changes by scoring, not by people): per person, the same stages at
the same moments, or not.

Deterministic: people in lead id order, numbers rounded, no clock read.
"""

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from leadstream.archive.history import PersonHistory, replay
from leadstream.predictive.metrics import precision_recall, roc_auc, top_decile_lift
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.report import Period
from leadstream.scoring.score import LeadScore

DAY = 86400.0
BEFORE = timedelta(microseconds=1)  # the score at a moment is that of the events before it
CONVERTED = (Stage.OPPORTUNITY, Stage.WON)
# the stages a backtest counts, and the scored stages a person counts in when they reach one
STAGES = (Stage.MQL, Stage.PQL, Stage.SQL)
_COUNTS_IN = {Stage.MQL: (Stage.MQL,), Stage.PQL: (Stage.MQL, Stage.PQL), Stage.SQL: (Stage.MQL, Stage.SQL)}
SHOWN_DIFFERENCES = 20  # people named where the live replay differs from live (the first, by lead id)
MILLISECOND = 3  # stage changes' times are compared to the millisecond (the table keeps epoch numbers)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class StageFigures(_Out):
    stage: str
    reached: int = Field(description="people the model took to this stage (MQL: or beyond)")
    median_days: float | None = Field(description="from first seen to reaching it, median over them")
    converted: int = Field(description="of them, reached opportunity or won")
    won: int
    to_opportunity: float | None = Field(description="converted / reached")
    to_won: float | None = Field(description="won / reached")


class ModelFigures(_Out):
    model: str = Field(description="where the model came from: a file, or 'shipped'")
    version: int
    stages: list[StageFigures]
    sql_precision: float | None = Field(description="of the SQLs, the share that converted")
    sql_recall: float | None = Field(description="of the converters, the share that were SQL")
    roc_auc: float | None = Field(description="of the score at the judged moment against conversion")
    top_decile_lift: float | None = Field(description="conversion of the top 10% by score / everyone's")


class Timing(_Out):
    """When the candidate made the converters SQL, against the live model (days: candidate - live)."""

    converters: int
    earlier: int
    later: int
    same: int
    only_candidate: int
    only_live: int
    neither: int
    median_days: float | None = Field(description="candidate - live over those both flagged: < 0 earlier")


class Agreement(_Out):
    """The live model's replay against the stage changes scoring really made (the archive's)."""

    people: int = Field(description="people in the cohort")
    matching: int = Field(description="people whose replayed stage changes are the live ones, stage and time")
    differing: int
    live_changes: int = Field(description="scoring's stage changes in the archive, in the period")
    other_versions: int = Field(description="of them, made by a model version other than the live one")
    differing_leads: list[str] = Field(description=f"the first {SHOWN_DIFFERENCES} that differ, by lead id")


class Backtest(_Out):
    since: str | None
    until: str | None
    judged_at: str = "the first stage change by a person, else the end of the period"
    people: int = Field(description="first seen in the period, with at least one event")
    converted: int = Field(description="reached opportunity or won (people's stage changes)")
    won: int
    candidate: ModelFigures
    live: ModelFigures
    timing: Timing
    agreement: Agreement


@dataclass(frozen=True)
class Judged:
    """One person under one model."""

    reached: dict[Stage, datetime]  # each counted stage, when first reached
    score: float  # at the judged moment
    transitions: tuple[tuple[Stage, datetime], ...]  # every stage change the model made


@dataclass(frozen=True)
class Person:
    history: PersonHistory
    first_seen: datetime
    converted: datetime | None
    won: datetime | None
    judged_at: datetime


def end_of(period: Period) -> datetime | None:
    return None if period.until is None else datetime.combine(period.until, time.max, UTC)


def latest(histories: Iterable[PersonHistory]) -> datetime:
    """The latest moment any of `histories` holds (an event or a stage change)."""
    moments = [e.at for h in histories for e in h.events[-1:]]
    moments += [c.at for h in histories for c in h.changes[-1:]]
    return max(moments, default=datetime.min.replace(tzinfo=UTC))


def person(history: PersonHistory, period: Period, end: datetime) -> Person | None:
    """A person of the cohort (None: not first seen in the period), with their outcome by `end`."""
    first = history.first_seen
    if first is None or not period.covers(first):
        return None
    changes = [c for c in history.changes if c.at <= end]
    converted = next((c.at for c in changes if c.to_stage in CONVERTED), None)
    won = next((c.at for c in changes if c.to_stage is Stage.WON), None)
    judged_at = next((c.at for c in changes if c.to_stage.by_people), end)
    return Person(history, first, converted, won, max(judged_at, first))


def judge(model: ScoringModel, who: Person, end: datetime) -> Judged:
    scored: LeadScore = replay(model, who.history, until=end)
    reached: dict[Stage, datetime] = {}
    for t in scored.transitions:
        for stage in _COUNTS_IN.get(t.to_stage, ()):
            reached.setdefault(stage, t.at)
    if who.judged_at >= end:
        score = scored.score_at(model, end)
    else:
        score = replay(model, who.history, until=who.judged_at - BEFORE).score_at(model, who.judged_at)
    return Judged(reached, score, tuple((t.to_stage, t.at) for t in scored.transitions))


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / DAY


def _median(values: Sequence[float]) -> float | None:
    return _round(statistics.median(values), 3) if values else None


def _share(part: int, whole: int) -> float | None:
    return _round(part / whole) if whole else None


def figures(
    name: str, model: ScoringModel, people: Sequence[Person], judged: Sequence[Judged]
) -> ModelFigures:
    stages = []
    for stage in STAGES:
        them = [(p, j) for p, j in zip(people, judged, strict=True) if stage in j.reached]
        converted = sum(1 for p, _ in them if p.converted)
        won = sum(1 for p, _ in them if p.won)
        stages.append(
            StageFigures(
                stage=stage.value,
                reached=len(them),
                median_days=_median([_days(p.first_seen, j.reached[stage]) for p, j in them]),
                converted=converted,
                won=won,
                to_opportunity=_share(converted, len(them)),
                to_won=_share(won, len(them)),
            )
        )
    outcomes = [p.converted is not None for p in people]
    sql = precision_recall([Stage.SQL in j.reached for j in judged], outcomes)
    scores = [j.score for j in judged]
    return ModelFigures(
        model=name,
        version=model.version,
        stages=stages,
        sql_precision=_round(sql.precision),
        sql_recall=_round(sql.recall),
        roc_auc=_round(roc_auc(scores, outcomes)),
        top_decile_lift=_round(top_decile_lift(scores, outcomes)),
    )


def timing(people: Sequence[Person], candidate: Sequence[Judged], live: Sequence[Judged]) -> Timing:
    counts = dict.fromkeys(("earlier", "later", "same", "only_candidate", "only_live", "neither"), 0)
    differences = []
    converters = [(c, lv) for p, c, lv in zip(people, candidate, live, strict=True) if p.converted]
    for c, lv in converters:
        mine, theirs = c.reached.get(Stage.SQL), lv.reached.get(Stage.SQL)
        if mine is not None and theirs is not None:
            differences.append(_days(theirs, mine))
            counts["earlier" if mine < theirs else "later" if mine > theirs else "same"] += 1
        else:
            counts["only_candidate" if mine else "only_live" if theirs else "neither"] += 1
    return Timing(converters=len(converters), median_days=_median(differences), **counts)


def _moment(at: datetime) -> float:
    return round(at.timestamp(), MILLISECOND)


def agreement(
    model: ScoringModel, people: Sequence[Person], live: Sequence[Judged], end: datetime
) -> Agreement:
    matching = changes = other = 0
    differing: list[str] = []
    for who, judged in zip(people, live, strict=True):
        scoring = [
            c for c in who.history.changes if c.by is None and not c.to_stage.by_people and c.at <= end
        ]
        changes += len(scoring)
        other += sum(1 for c in scoring if c.model is not None and c.model != model.version)
        really = [(c.to_stage, _moment(c.at)) for c in scoring]
        if really == [(stage, _moment(at)) for stage, at in judged.transitions]:
            matching += 1
        else:
            differing.append(who.history.lead_id)
    return Agreement(
        people=len(people),
        matching=matching,
        differing=len(differing),
        live_changes=changes,
        other_versions=other,
        differing_leads=sorted(differing)[:SHOWN_DIFFERENCES],
    )


@dataclass(frozen=True)
class Candidate:
    """A model to backtest and where it came from (a file's name, or 'shipped')."""

    name: str
    model: ScoringModel


def backtest(
    histories: Iterable[PersonHistory],
    candidate: Candidate,
    live: Candidate,
    period: Period,
    replayed: Callable[[int], None] | None = None,
) -> Backtest:
    """The cohort of `histories` first seen in `period` under both models, up to the end of the period
    (its last day's end; without one, the latest moment the histories hold, so the same archive always
    gives the same figures). `replayed(n)` is called after each person (progress)."""
    everyone = sorted(histories, key=lambda h: h.lead_id)
    end = end_of(period) or latest(everyone)
    people: list[Person] = []
    for history in everyone:
        found = person(history, period, end)
        if found is not None:
            people.append(found)
    mine: list[Judged] = []
    theirs: list[Judged] = []
    for n, who in enumerate(people, 1):
        mine.append(judge(candidate.model, who, end))
        theirs.append(judge(live.model, who, end))
        if replayed is not None:
            replayed(n)
    return Backtest(
        since=period.since.isoformat() if period.since else None,
        until=period.until.isoformat() if period.until else None,
        people=len(people),
        converted=sum(1 for p in people if p.converted),
        won=sum(1 for p in people if p.won),
        candidate=figures(candidate.name, candidate.model, people, mine),
        live=figures(live.name, live.model, people, theirs),
        timing=timing(people, mine, theirs),
        agreement=agreement(live.model, people, theirs, end),
    )
