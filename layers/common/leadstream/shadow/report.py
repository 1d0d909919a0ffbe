"""The shadow report (pure): a candidate model beside the live one over the people the candidate scored.

Per person, the live side is their stage changes as recorded (TRANS#): the stage the live model took them
to (its own moves, `by` None: lead, MQL, PQL or SQL, the highest reached) and what people did next (the
latest move by a person: accepted, rejected, opportunity, won, lost, disqualified; none is `waiting`). The
candidate's side is its record (`ShadowScore`). They agree when both models have the person at the same
stage. An SQL the candidate made and the live model did not is one it would add, the other way round one
it would drop; either way, what became of the person says whether sales needed that SQL.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import Transition
from leadstream.shadow.score import ShadowScore

WAITING = "waiting"
OUTCOMES = ("accepted", "rejected", "opportunity", "won", "lost", "disqualified", WAITING)
SCORED_STAGES = (Stage.LEAD, Stage.MQL, Stage.PQL, Stage.SQL)


@dataclass(frozen=True)
class Compared:
    """One person, both ways."""

    lead_id: str
    live_stage: Stage  # the highest stage the live model moved them to
    candidate_stage: Stage
    live_sql: bool
    candidate_sql: bool
    outcome: str  # the latest person's move, or WAITING
    live_versions: frozenset[int]  # the live model versions that moved them


def compare(shadow: ShadowScore, live: Sequence[Transition]) -> Compared:
    scored = [t for t in live if t.by is None]
    stage = Stage.LEAD
    for t in scored:  # in order: the highest rank reached, the later one of a rank
        if t.to_stage in SCORED_STAGES and t.to_stage.rank >= stage.rank:
            stage = t.to_stage
    moves = [t for t in live if t.by is not None]
    return Compared(
        shadow.lead_id,
        stage,
        shadow.stage,
        any(t.to_stage is Stage.SQL for t in scored),
        Stage.SQL in shadow.reached(),
        moves[-1].to_stage.value if moves else WAITING,
        frozenset(t.model_version for t in scored if t.model_version is not None),
    )


def _outcomes(people: Iterable[Compared]) -> dict[str, int]:
    counted = dict.fromkeys(OUTCOMES, 0)
    for person in people:
        counted[person.outcome] = counted.get(person.outcome, 0) + 1
    return counted


@dataclass(frozen=True)
class ShadowReport:
    candidate_version: int
    live_versions: list[int]
    people: int
    agree: int
    stages: dict[str, dict[str, int]]  # stage -> {"live": n, "candidate": n}
    sqls: dict[str, dict[str, Any]]  # both / added / dropped -> {"people": n, "leads": [...], outcomes...}
    disagreements: list[dict[str, str]] = field(default_factory=list)

    @property
    def agreement(self) -> float | None:
        return self.agree / self.people if self.people else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_version": self.candidate_version,
            "live_versions": self.live_versions,
            "people": self.people,
            "agree": self.agree,
            "agreement": self.agreement,
            "stages": self.stages,
            "sqls": self.sqls,
            "disagreements": self.disagreements,
        }


def shadow_report(
    candidate_version: int, people: Iterable[Compared], live_version: int | None = None
) -> ShadowReport:
    """The comparison over `people` (each compared once). `live_version`: the live model's version when no
    live stage change names one (nobody was moved by it yet)."""
    everyone = sorted(people, key=lambda p: p.lead_id)
    versions = sorted({v for p in everyone for v in p.live_versions})
    if not versions and live_version is not None:
        versions = [live_version]
    stages = {
        s.value: {
            "live": sum(p.live_stage is s for p in everyone),
            "candidate": sum(p.candidate_stage is s for p in everyone),
        }
        for s in SCORED_STAGES
    }
    groups = {
        "both": [p for p in everyone if p.live_sql and p.candidate_sql],
        "added": [p for p in everyone if p.candidate_sql and not p.live_sql],
        "dropped": [p for p in everyone if p.live_sql and not p.candidate_sql],
    }
    sqls = {
        name: {"people": len(group), **_outcomes(group), "leads": [p.lead_id for p in group]}
        for name, group in groups.items()
    }
    disagreements = [
        {"lead_id": p.lead_id, "live": p.live_stage.value, "candidate": p.candidate_stage.value}
        for p in everyone
        if p.live_stage is not p.candidate_stage
    ]
    agree = len(everyone) - len(disagreements)
    return ShadowReport(candidate_version, versions, len(everyone), agree, stages, sqls, disagreements)
