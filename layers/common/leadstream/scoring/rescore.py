"""Rescoring: every person's score recomputed from the event archive under a new scoring model.

`rescored` (pure) replays a person's archived events under the model from nothing (`archive.history`) and
makes of it the lead's new score: points, fit, counts and the model's version. The stage never moves back:
where the new model would have the lead lower, the stage stays and only the score changes. A stage above
the lead's that the model reaches is a transition marked `rescored`, dated when the model would have
reached it (never before the lead's latest recorded stage change: a lead is not moved before it got where
it is), with the model's version; PublishFunction never publishes it, so nobody is told (no Slack, no
e-mail, no bus event). What the archive cannot tell carries over from STATE, as a rebuild carries it:
being known, an earlier first touch, counts never below STATE's, and the fit points of rules the model
still has when none of the archived events carry fit traits.

`Rescore` writes each lead's STATE as `scoring.rebuild` does: conditional on `version` (a write lost to
ScoreFunction, a sales action or identity is read and rescored again), with the replay guards, identity's
and the sales workflow's fields kept. The archived events the stream may still deliver (stored within its
retention) join the `rebuilt` guards, so ScoreFunction never counts them twice. A lead erased (tombstone),
merged into another, without STATE (expired) or without an archived event is never written; nor is one
whose STATE holds an event newer than any the archive has of the person (it is behind: run again later).
Nothing is written where nothing would change, so a second run with the same model writes nothing, and a
run stopped midway and started again skips the leads it did (resumable without a checkpoint of its own).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from leadstream.archive.history import PersonHistory, histories, replay
from leadstream.archive.records import ArchivedRecord
from leadstream.platform.errors import ConcurrentUpdate
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.replay import STREAM_RETENTION, StoredScore, message_key
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, Transition, carried_over

MAX_ATTEMPTS = 5  # writes lost to other writers before the lead is left for the next run
BATCH = 100  # STATE items read per BatchGetItem
_SAME_MOMENT = timedelta(milliseconds=1)  # STATE keeps times in epoch seconds with 3 decimals


def people_of(records: Iterable[ArchivedRecord]) -> tuple[dict[str, PersonHistory], dict[str, float]]:
    """People's histories in archived records (`histories`), and when the table stored each event (message
    id -> epoch seconds): what `Rescore.people` takes."""
    stored_at: dict[str, float] = {}

    def noted() -> Iterator[ArchivedRecord]:
        for record in records:
            if record.kind == "event":
                stored_at[record.item.removeprefix("EVT#")] = record.stored
            yield record

    return histories(noted()), stored_at


def _moves(stage: Stage, to: Stage) -> bool:
    """Whether scoring moves a lead at `stage` to `to`: a higher rank, or MQL to PQL (a PQL rule's)."""
    return to.rank > stage.rank or (stage is Stage.MQL and to is Stage.PQL)


def rescored(model: ScoringModel, current: LeadScore, history: PersonHistory) -> LeadScore:
    """`current` (the lead's STATE score) rescored from `history` under `model`: the new score, with the
    transitions (marked `rescored`) to the stages the model reaches above `current.stage`."""
    fresh = replay(model, history)
    since = max((c.at for c in history.changes), default=None)  # the latest recorded stage change
    stage, count = current.stage, current.transition_count
    moved: list[Transition] = []
    for t in fresh.transitions:
        if not _moves(stage, t.to_stage):
            continue  # the lead is there already, or further: the stage never moves back
        count += 1
        at = max(t.at, since) if since is not None else t.at
        moved.append(
            replace(
                t, id=f"{current.lead_id}:{t.to_stage.value}:{count}", from_stage=stage, at=at, rescored=True
            )
        )
        stage = t.to_stage
    fit = fresh.fit_points
    if not any(e.fit_traits for e in history.events):  # every event with a trait is older than the archive
        fit = {rule.id: rule.points for rule in model.fit if rule.id in current.fit_points}
    return replace(
        carried_over(fresh, current),
        lead_id=current.lead_id,
        stage=stage,
        known=current.known or fresh.known,
        fit_points=fit,
        transition_count=count,
        transitions=tuple(moved),
        model_version=model.version,
    )


def behind(current: LeadScore, history: PersonHistory) -> bool:
    """Whether STATE holds an event newer than any the archive has of the person (it has not caught up)."""
    archived = history.events[-1].at if history.events else None
    return current.last_seen is not None and (archived is None or current.last_seen - archived > _SAME_MOMENT)


class Result(StrEnum):
    WRITTEN = "written"  # the new score (and any rescored transitions) written
    UNCHANGED = "unchanged"  # STATE already says what the model says: no write
    MISSING = "missing"  # no STATE (expired, or never scored): nothing to rescore
    ERASED = "erased"  # the person was erased: never written again
    MERGED = "merged"  # merged into another lead, which holds the score
    NO_EVENTS = "no_events"  # none of the person's events is in the archive read (all before --since)
    BEHIND = "behind"  # the archive has not caught up with STATE yet: run again later
    CONFLICT = "conflict"  # lost MAX_ATTEMPTS writes to other writers: run again later


@dataclass(frozen=True)
class Rescored:
    """What rescoring did (or, in a dry run, would do) to one person's lead."""

    lead_id: str
    result: Result
    before: LeadScore | None = None
    after: LeadScore | None = None
    model_before: int | None = None  # the version of the model that had scored STATE


class Rescore:
    """Rescores people's leads with the scores' repository (and a clock, for tests)."""

    def __init__(
        self,
        scores: ScoreRepository,
        model: ScoringModel,
        dry_run: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.scores = scores
        self.model = model
        self.dry_run = dry_run
        self.clock = clock

    def people(
        self, people: Iterable[PersonHistory], stored_at: Mapping[str, float] | None = None
    ) -> Iterator[Rescored]:
        """Each person's outcome, in the order given, reading STATE BATCH leads at a time. `stored_at`:
        message id -> when the table stored the event (the archive's `stored`), for the replay guards."""
        chunk: list[PersonHistory] = []
        for history in people:
            chunk.append(history)
            if len(chunk) == BATCH:
                yield from self._chunk(chunk, stored_at or {})
                chunk = []
        if chunk:
            yield from self._chunk(chunk, stored_at or {})

    def _chunk(self, chunk: list[PersonHistory], stored_at: Mapping[str, float]) -> Iterator[Rescored]:
        states = self.scores.load_many(h.lead_id for h in chunk)
        for history in chunk:
            yield self._person(history, states[history.lead_id], stored_at)

    def _person(
        self, history: PersonHistory, stored: StoredScore, stored_at: Mapping[str, float]
    ) -> Rescored:
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._once(history, stored, stored_at)
            except ConcurrentUpdate:
                stored = self.scores.load(history.lead_id)
        return Rescored(history.lead_id, Result.CONFLICT, stored.score, None, stored.score.model_version)

    def _once(self, history: PersonHistory, stored: StoredScore, stored_at: Mapping[str, float]) -> Rescored:
        lead, current = history.lead_id, stored.score
        found = Rescored(lead, Result.UNCHANGED, current, None, current.model_version)
        if stored.version is None:
            return replace(found, result=Result.MISSING, before=None)
        if stored.erased:
            return replace(found, result=Result.ERASED)
        if stored.merged_into is not None:
            return replace(found, result=Result.MERGED)
        if not history.events:
            return replace(found, result=Result.NO_EVENTS)
        if behind(current, history):
            return replace(found, result=Result.BEHIND)
        after = rescored(self.model, current, history)
        now = self.clock()
        recent = (now - STREAM_RETENTION).timestamp()
        guards = {
            message_key(e.message_id): int(at)
            for e in history.events
            if (at := stored_at.get(e.message_id, 0.0)) >= recent
        }
        unguarded = guards.keys() - stored.rebuilt.keys()
        same = replace(self.scores.as_saved(stored, after), transitions=()) == replace(
            current, transitions=()
        )
        if same and not after.transitions and not unguarded:
            return replace(found, after=after)
        if not self.dry_run:
            self.scores.save(replace(stored, rebuilt={**stored.rebuilt, **guards}).pruned(now), after)
        return replace(found, result=Result.WRITTEN, after=after)
