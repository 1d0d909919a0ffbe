"""The account model's schema: engagement roll-up, fit, buying committee, stages and surge (pydantic).

The model itself is a YAML document (`accounts.yaml`, read by `model_file`); this module knows nothing of
files or YAML, so tests build small models of their own in code. It has no half-life of its own: account
engagement is made of the leads' behaviour points and decays with the lead scoring model's half-life
(`score.py` takes both models).
"""

import re
from enum import StrEnum
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountStage(StrEnum):
    ACCOUNT = "account"
    ENGAGED = "engaged"
    MQA = "MQA"  # marketing-qualified account

    @property
    def rank(self) -> int:
        return _RANK[self]


# Stages only move forward through scoring, as a lead's do.
_RANK = {AccountStage.ACCOUNT: 0, AccountStage.ENGAGED: 1, AccountStage.MQA: 2}


@cache
def whole_words(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for any of `words` as whole words: 'cto' finds 'CTO & Co-founder' but
    not 'Director'; 'vp' finds 'VP Sales' but not 'VPN Engineer'. A word may hold spaces ('head of')."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w.strip()) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class Engagement(_Strict):
    """How the members' behaviour points roll up: the strongest few leads count, not the sum of everyone."""

    weights: tuple[float, ...] = Field(min_length=1)  # of the 1st, 2nd, ... strongest lead
    keep: int = Field(ge=2)  # leads remembered per account (more than len(weights): see score.py)
    engaged_lead_score: float = Field(gt=0)  # a lead with at least this score is an engaged person

    @model_validator(mode="after")
    def _keep_more_than_counted(self) -> Self:
        if self.keep <= len(self.weights):
            raise ValueError("engagement.keep must be larger than the number of weights (the leads counted)")
        if any(w <= 0 for w in self.weights):
            raise ValueError("engagement.weights must be positive")
        return self


class AccountFitRule(_Strict):
    """A rule on an account trait (industry, employees, domain, ...). Exactly one test:
    `contains_any` (whole words, case-insensitive), `employees` as an inclusive [min, max] range of a
    number (a range such as '51-200' counts by its lower bound), or `ends_with` (domain suffixes)."""

    id: str
    label: str
    trait: str
    contains_any: tuple[str, ...] = ()
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)
    ends_with: tuple[str, ...] = ()
    points: int

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [bool(self.contains_any), self.at_least is not None or self.at_most is not None]
        tests.append(bool(self.ends_with))
        if sum(tests) != 1:
            raise ValueError(
                f"fit rule {self.id!r} needs one test: 'contains_any', 'at_least'/'at_most' or 'ends_with'"
            )
        return self

    def matches(self, value: str) -> bool:
        words = whole_words(self.contains_any)
        if words is not None:
            return words.search(value) is not None
        if self.ends_with:
            host = value.strip().lower().rstrip(".")
            suffixes = [s.strip().lstrip(".").lower() for s in self.ends_with]
            return any(host == s or host.endswith("." + s) for s in suffixes)
        number = leading_number(value)
        if number is None:
            return False
        return (self.at_least is None or number >= self.at_least) and (
            self.at_most is None or number <= self.at_most
        )


def leading_number(value: str) -> int | None:
    """The first whole number in a trait: '250' -> 250, '51-200' -> 51, '1,000+' -> 1000, 'many' -> None."""
    found = re.search(r"\d[\d,]*", value)
    return int(found.group().replace(",", "")) if found else None


class Role(_Strict):
    """A buying-committee role, recognised by words of a job title."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    titles: tuple[str, ...] = Field(min_length=1)
    points: int = Field(ge=0)  # earned once by the account when at least one member holds the role

    def matches(self, title: str) -> bool:
        words = whole_words(self.titles)
        return words is not None and words.search(title) is not None


class AccountThreshold(_Strict):
    stage: AccountStage
    min_score: float
    min_engaged_people: int = Field(default=0, ge=0)
    min_roles_covered: int = Field(default=0, ge=0)


class Surge(_Strict):
    """A sharp rise within `window_days`: at least `min_gain` engagement points earned within the window
    (engagement now, less what it was a window ago faded to now) AND at least `min_growth` of what it was
    a window ago (0.5 = +50%); or engaged people up by `min_new_engaged` within the window.
    Once an account surges, it does not surge again for `cooldown_days`: one surge is one event."""

    window_days: int = Field(ge=1)
    min_gain: float = Field(gt=0)
    min_growth: float = Field(ge=0)
    min_new_engaged: int | None = Field(default=None, ge=1)
    cooldown_days: int = Field(ge=1)


class AccountModel(_Strict):
    version: int
    engagement: Engagement
    fit: tuple[AccountFitRule, ...] = ()
    committee: tuple[Role, ...] = Field(min_length=1)
    stages: tuple[AccountThreshold, ...]
    surge: Surge

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [r.id for r in self.fit] + [r.id for r in self.committee]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"fit rule and role ids must be unique, repeated: {sorted(dupes)}")
        if any(t.stage is AccountStage.ACCOUNT for t in self.stages):
            raise ValueError("'account' is where every account starts: it takes no threshold")
        if any(t.min_roles_covered > len(self.committee) for t in self.stages):
            raise ValueError("a stage asks for more committee roles than the model defines")
        return self

    def role_of(self, title: str | None) -> str | None:
        """The first role (in the model's order) whose title words appear in `title`; None for none."""
        if not title:
            return None
        return next((role.id for role in self.committee if role.matches(title)), None)

    def fit_points(self, traits: dict[str, str]) -> dict[str, int]:
        """The points of every fit rule the traits meet, by rule id (the latest value of a trait counts)."""
        return {
            rule.id: rule.points
            for rule in self.fit
            if rule.trait in traits and rule.matches(traits[rule.trait])
        }

    def committee_points(self, covered: set[str]) -> int:
        return sum(role.points for role in self.committee if role.id in covered)

    def coverage(self, covered: set[str]) -> float:
        """Roles covered / roles defined, 0 to 1."""
        return len(covered & {role.id for role in self.committee}) / len(self.committee)

    def label(self, rule_id: str) -> str:
        rules: list[AccountFitRule | Role] = [*self.fit, *self.committee]
        return next((r.label for r in rules if r.id == rule_id), rule_id.replace("_", " "))
