"""The lead scoring model's schema: rules, stage thresholds and the half-life, validated by pydantic.

Besides points, two kinds of rule move a lead whatever its score: hand-raise rules (a demo request, a
"Contact Sales" click: straight to SQL) and PQL rules (product usage, at least `min_times` within
`within_days`: to PQL). Both wait for an anonymous visitor to identify (`pending_days` at most).

The model itself is a YAML document (`scoring.yaml`, read by `model_file`); this module knows nothing of
files or YAML, so tests build small models of their own in code.
"""

import fnmatch
import math
import re
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadstream.scoring.lifecycle import Stage
from leadstream.tracking.events import BehaviourEvent, EventType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    type: EventType | None = None
    path: str | None = None
    name: str | None = None
    form_id: str | None = None

    def matches(self, event: BehaviourEvent) -> bool:
        if self.type is not None and event.type is not self.type:
            return False
        if self.path is not None and not (event.path and fnmatch.fnmatchcase(event.path, self.path)):
            return False
        if self.name is not None and event.name != self.name:
            return False
        return self.form_id is None or event.form_id == self.form_id


class BehaviourRule(_Strict):
    id: str
    label: str
    match: Match
    points: int
    max_times: int | None = Field(default=None, ge=1)


class FitRule(_Strict):
    id: str
    label: str
    trait: str
    equals: str | None = None
    contains_any: tuple[str, ...] = ()
    points: int

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if (self.equals is None) == (not self.contains_any):
            raise ValueError(f"fit rule {self.id!r} needs exactly one of 'equals' or 'contains_any'")
        return self

    def matches(self, value: str) -> bool:
        """`equals` compares the whole value; `contains_any` looks for whole words ('intern' is not in
        'International'), case-insensitively."""
        value = value.lower()
        if self.equals is not None:
            return value == self.equals.lower()
        return any(re.search(rf"\b{re.escape(word.lower())}\b", value) for word in self.contains_any)


class HandRaiseRule(_Strict):
    """An event that asks for sales: a known lead below SQL goes to SQL at once, whatever its score."""

    id: str
    label: str
    match: Match
    # an anonymous visitor's hand-raise goes to sales if it identifies within this many days
    pending_days: float = Field(default=30, gt=0)


class PqlRule(_Strict):
    """Product usage that makes a lead (at `lead` or MQL) a product-qualified lead: `min_times` matching
    events within `within_days` (any time apart when it is absent)."""

    id: str
    label: str
    match: Match
    min_times: int = Field(default=1, ge=1, le=100)  # STATE keeps the latest min_times - 1 of them
    within_days: float | None = Field(default=None, gt=0)
    pending_days: float = Field(default=30, gt=0)


class Threshold(_Strict):
    stage: Stage
    min_score: float
    requires_known: bool = False

    @model_validator(mode="after")
    def _scored_stage(self) -> Self:
        if self.stage.by_people or self.stage is Stage.LEAD:
            raise ValueError(f"stage {self.stage.value!r} is not reached by score (MQL, PQL or SQL are)")
        return self


class ScoringModel(_Strict):
    version: int
    half_life_days: float = Field(gt=0)
    stages: tuple[Threshold, ...]
    behaviour: tuple[BehaviourRule, ...]
    fit: tuple[FitRule, ...] = ()
    hand_raise: tuple[HandRaiseRule, ...] = ()
    pql: tuple[PqlRule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [r.id for r in self._rules()]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"rule ids must be unique, repeated: {sorted(dupes)}")
        return self

    def _rules(self) -> list[BehaviourRule | FitRule | HandRaiseRule | PqlRule]:
        return [*self.behaviour, *self.fit, *self.hand_raise, *self.pql]

    def label(self, rule_id: str) -> str:
        return next((r.label for r in self._rules() if r.id == rule_id), rule_id.replace("_", " "))

    def decay(self, value: float, since: datetime | None, until: datetime) -> float:
        if since is None or until <= since:
            return value
        days = (until - since).total_seconds() / 86400
        return value * math.pow(0.5, days / self.half_life_days)
