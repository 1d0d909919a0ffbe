"""The sales workflow's rules (pure: no I/O): which moves people may make from which stages, what each
move needs, what a rejected lead keeps of its score, how qualification answers merge and when they are
complete, and what a first action does to the speed-to-lead timer.

Scoring moves a lead up to SQL; past it, people move it:

    accept       from MQL, PQL, SQL, rejected          -> accepted
    reject       from MQL, PQL, SQL, accepted          -> rejected (recycled to nurturing; a reason)
    opportunity  from accepted                          -> opportunity (the framework's required answers)
    won          from opportunity                       -> won (an amount > 0 and its currency)
    lost         from opportunity, accepted             -> lost (a reason; an amount if known)
    disqualify   from any stage but won, lost, disqualified -> disqualified (a reason)

The frameworks (BANT, CHAMP, MEDDIC), the recycle policy and the rejection reasons offered are data:
`workflow.yaml`, read by `sales.workflow_file`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadstream.platform.errors import BadRequest, MoveNotAllowed
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore

CRITERION_ID = r"^[a-z][a-z0-9_]{0,39}$"


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Criterion(_Rules):
    id: str = Field(pattern=CRITERION_ID)
    label: str = Field(min_length=1)
    question: str = Field(min_length=1, description="what a rep asks to answer it")
    required: bool = Field(default=False, description="must be answered before a move to opportunity")


class Framework(_Rules):
    name: str = ""  # the key it is listed under (filled in by Workflow)
    label: str = Field(min_length=1)
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError(f"framework {self.name or self.label!r} lists a criterion twice")
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    def missing_required(self, answered: set[str] | frozenset[str]) -> list[str]:
        return [c.id for c in self.criteria if c.required and c.id not in answered]

    def completeness(self, answered: set[str] | frozenset[str]) -> float:
        """The fraction of this framework's criteria answered (0 to 1)."""
        return round(sum(c.id in answered for c in self.criteria) / len(self.criteria), 3)


class Recycle(StrEnum):
    """What a rejected lead keeps of its behaviour points (fit points always stay)."""

    KEEP = "keep"
    HALVE = "halve"  # as if a half-life had passed
    RESET = "reset"  # none: it starts again from its fit


class Workflow(_Rules):
    frameworks: dict[str, Framework] = Field(min_length=1)
    recycle: Recycle = Recycle.HALVE
    rejection_reasons: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _named(self) -> Self:
        for name, framework in self.frameworks.items():
            self.frameworks[name] = framework.model_copy(update={"name": name})
        return self

    def framework(self, name: str) -> Framework:
        """The framework called `name`; ValueError naming the ones there are (a configuration error)."""
        found = self.frameworks.get(name)
        if found is None:
            known = ", ".join(self.frameworks)
            raise ValueError(f"no qualification framework {name!r} in the workflow rules; there are {known}")
        return found


class Move(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    DISQUALIFY = "disqualify"

    @property
    def target(self) -> Stage:
        return _TARGET[self]


_TARGET = {
    Move.ACCEPT: Stage.ACCEPTED,
    Move.REJECT: Stage.REJECTED,
    Move.OPPORTUNITY: Stage.OPPORTUNITY,
    Move.WON: Stage.WON,
    Move.LOST: Stage.LOST,
    Move.DISQUALIFY: Stage.DISQUALIFIED,
}
ALLOWED_FROM: dict[Move, frozenset[Stage]] = {
    Move.ACCEPT: frozenset({Stage.MQL, Stage.PQL, Stage.SQL, Stage.REJECTED}),
    Move.REJECT: frozenset({Stage.MQL, Stage.PQL, Stage.SQL, Stage.ACCEPTED}),
    Move.OPPORTUNITY: frozenset({Stage.ACCEPTED}),
    Move.WON: frozenset({Stage.OPPORTUNITY}),
    Move.LOST: frozenset({Stage.OPPORTUNITY, Stage.ACCEPTED}),
    Move.DISQUALIFY: frozenset(Stage) - {Stage.WON, Stage.LOST, Stage.DISQUALIFIED},
}
NEEDS_REASON = frozenset({Move.REJECT, Move.LOST, Move.DISQUALIFY})


def allowed_moves(stage: Stage) -> list[Move]:
    return [move for move in Move if stage in ALLOWED_FROM[move]]


@dataclass(frozen=True)
class MoveRequest:
    move: Move
    reason: str | None = None
    amount: float | None = None
    currency: str | None = None


def _missing_field(field: str, problem: str) -> BadRequest:
    return BadRequest(f"{field}: {problem}", details=[{"field": field, "problem": problem}])


def check_move(stage: Stage, request: MoveRequest, framework: Framework, answered: frozenset[str]) -> Stage:
    """The stage `request` takes a lead at `stage` to. MoveNotAllowed (409) for a move its stage does not
    allow, or for opportunity while required criteria are unanswered (naming them); BadRequest (400)
    naming the field a move needs (a reason; a won deal's amount and currency)."""
    move = request.move
    if stage not in ALLOWED_FROM[move]:
        allowed = [m.value for m in allowed_moves(stage)]
        then = (
            f"; allowed from {stage.value}: {', '.join(allowed)}" if allowed else f"; {stage.value} is final"
        )
        raise MoveNotAllowed(f"a lead at {stage.value} cannot be moved by {move.value}{then}", stage, allowed)
    if move in NEEDS_REASON and not (request.reason or "").strip():
        raise _missing_field("reason", f"{move.value} needs a reason")
    if move is Move.WON:
        if request.amount is None or request.amount <= 0:
            raise _missing_field("amount", "won needs the deal's amount, greater than 0")
        if not request.currency:
            raise _missing_field("currency", "won needs the amount's currency (ISO 4217, e.g. EUR)")
    if request.amount is not None and not request.currency:
        raise _missing_field("currency", "an amount needs its currency (ISO 4217, e.g. EUR)")
    if move is Move.OPPORTUNITY:
        missing = framework.missing_required(answered)
        if missing:
            raise MoveNotAllowed(
                f"{framework.name} criteria required for opportunity are not answered: {', '.join(missing)}",
                stage,
                [m.value for m in allowed_moves(stage)],
                missing,
            )
    return move.target


def recycled(score: LeadScore, policy: Recycle) -> LeadScore:
    """A rejected lead's score as it goes back to nurturing. Halving takes the occurrences each rule's cap
    counts down with the points (as a half-life would), so the rules may earn again sooner; a reset
    forgets them. The ledger (what each rule earned in total) stays: it is history."""
    if policy is Recycle.KEEP:
        return score
    if policy is Recycle.RESET:
        return replace(score, behaviour=0.0, weights={})
    return replace(
        score, behaviour=score.behaviour / 2, weights={rule: w / 2 for rule, w in score.weights.items()}
    )


def first_action(sla: Mapping[str, Any] | None, by: str, at: datetime) -> dict[str, Any] | None:
    """The speed-to-lead timer after an accept or reject by `by` at `at`, or None when it does not change
    (no timer, or somebody acted already): a running timer is met; a breached one records who acted."""
    if not sla or sla.get("acted_at") is not None:
        return None
    changed = {**sla, "acted_at": round(at.timestamp(), 3), "acted_by": by}
    if sla.get("state") == "running":
        changed["state"] = "met"
    return changed


@dataclass(frozen=True)
class Answer:
    """One criterion's answer, as a rep typed it (data, never markup; never logged)."""

    text: str
    by: str  # the rep's e-mail
    at: datetime


def merged_answers(
    framework: Framework, current: Mapping[str, Answer], given: Mapping[str, str], by: str, at: datetime
) -> dict[str, Answer]:
    """`current` answers with `given` ones (criterion id -> text) over them. BadRequest naming every
    criterion the active framework does not have (nothing is merged then). Answers to another
    framework's criteria, given while it was active, are kept."""
    unknown = sorted(set(given) - set(framework.ids))
    if unknown:
        problem = f"not a criterion of {framework.name} (its criteria: {', '.join(framework.ids)})"
        raise BadRequest(
            f"unknown criteria: {', '.join(unknown)}; {framework.name} has {', '.join(framework.ids)}",
            details=[{"field": f"answers.{c}", "problem": problem} for c in unknown],
        )
    return {**current, **{c: Answer(text, by, at) for c, text in given.items()}}
