"""Shadow mode's arithmetic (pure): a candidate scoring model's score of one person, from the events stored
under their leads, with the stage changes it would have made. Recorded beside the live model's, never
published, never told to anyone.

A person's candidate score is recomputed from their stored events each time (`candidate_score`), starting
from what the candidate had recorded before (as `scoring.score.rebuild` starts from STATE): its stage never
moves back, a stage above it is a new would-be stage change, and what expired events gave (fit, being
known, the first touch) carries over. So the same events give the same record, however often a stream
batch is delivered. An unmerge starts the person again from their own events (`scoring.score.unmerged`),
as live scoring does. A new candidate (another `version`) starts from nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, Transition, rebuild, unmerged
from leadstream.tracking.events import BehaviourEvent


@dataclass(frozen=True)
class ShadowScore:
    """A person's score under the candidate model `model_version`, kept under the lead that holds them
    (the root of their merges). `score.transitions`: every stage change the candidate would have made for
    them so far, oldest first (each once: its id is `<lead>:<stage>:<n>`, as live scoring's)."""

    model_version: int
    score: LeadScore

    @property
    def lead_id(self) -> str:
        return self.score.lead_id

    @property
    def stage(self) -> Stage:
        return self.score.stage

    def reached(self) -> dict[Stage, datetime]:
        """When the candidate would first have moved the person to each stage it reached."""
        found: dict[Stage, datetime] = {}
        for t in self.score.transitions:
            found.setdefault(t.to_stage, t.at)
        return found


def candidate_score(
    model: ScoringModel,
    lead_id: str,
    previous: ShadowScore | None,
    events: Iterable[BehaviourEvent],
    restart: bool = False,
) -> ShadowScore:
    """The person's score under `model` from their stored `events` (each message once, in any order),
    continuing what the candidate recorded before (`previous`, if of this model's version). `restart`: an
    unmerge gave the person back only their own events; the stage may go back, and stages it had are no
    new stage change. The result's transitions are the earlier ones and any new one."""
    earlier = previous if previous is not None and previous.model_version == model.version else None
    start = earlier.score if earlier is not None else LeadScore(lead_id=lead_id)
    fresh = unmerged(model, start, events) if restart else rebuild(model, start, events)
    made = tuple(replace(t, model_version=model.version) for t in fresh.transitions)
    history: tuple[Transition, ...] = (*start.transitions, *made)
    return ShadowScore(model.version, replace(fresh, transitions=history))
