"""Training the predictive score from people's histories: `python -m cli model train` (a development tool).

Nothing here runs in a function: the training library (scikit-learn) is a development dependency, imported
by `fit` only, and no handler imports this module (tests/unit/test_layout.py checks both).

- **Label**: whether the person reached opportunity or won within `horizon` days of becoming a known lead
  (`PersonHistory.known_at`, their first e-mail: the moment sales could first act on them, and the moment
  a live likelihood first matters).
- **Examples**: the known people whose horizon has passed by the archive's end, or who have an outcome
  within it: a positive one, or a closing one (rejected, lost, disqualified by a person). The others are
  still inside their horizon with nothing decided: they are left out (and counted), never taken for
  negatives.
- **Snapshot**: each person is judged on what the live STATE held SNAPSHOT_DAYS after they became known, or
  a second before a person first moved their lead (sales accepting, rejecting, ...), whichever is earlier:
  never after the outcome, and never after sales' own work could show in their behaviour.
- **Split by time**: the earlier TRAIN_SHARE by `known_at` train, the later ones evaluate, as the model
  will be used (trained on the past, judged on people who came later).
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadstream.accounts.model import AccountModel
from leadstream.archive.history import PersonHistory, replay
from leadstream.predictive.features import account_label, features, label_of
from leadstream.predictive.metrics import Bin, calibration, roc_auc, top_decile_lift
from leadstream.predictive.model import PredictiveModel, Weight
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel

DEFAULT_HORIZON_DAYS = 90
SNAPSHOT_DAYS = 14
MOMENT = timedelta(seconds=1)
TRAIN_SHARE = 0.7
MIN_POSITIVES = 20  # in the training split, as the commercial tools ask
POSITIVE = frozenset({Stage.OPPORTUNITY, Stage.WON})
CLOSED = frozenset({Stage.REJECTED, Stage.LOST, Stage.DISQUALIFIED})  # sales' no, within the horizon
# Regularisation: the inverse strength (scikit-learn's C) of an L2 penalty on standardised features.
C = 0.5
RANDOM_STATE = 0
DIGITS = 4  # weights, means and scales are rounded so the artifact reads well and diffs small


class KnownAccounts:
    """What training knows of people's accounts: the account model (for the features' labels) and each
    lead's account features (predictive.accounts.AccountFacts reads them as the live score does)."""

    def __init__(self, model: AccountModel, by_lead: Mapping[str, Mapping[str, float]]) -> None:
        self.model, self.by_lead = model, by_lead

    def of(self, leads: Iterable[str]) -> Mapping[str, float]:
        """The features of the first of `leads` (the person's root first) whose account is known."""
        return next((self.by_lead[lead] for lead in leads if lead in self.by_lead), {})

    def label(self, name: str) -> str | None:
        return account_label(name, self.model)


class NotEnoughOutcomes(Exception):
    """Too few positive outcomes in the training split to learn from; the message says how many more."""


@dataclass(frozen=True)
class Example:
    lead_id: str
    known_at: datetime
    at: datetime  # the snapshot: what the live STATE held then
    positive: bool
    values: dict[str, float]

    @property
    def rules_score(self) -> float:
        return self.values["rules_score"]


@dataclass(frozen=True)
class Examples:
    examples: list[Example]  # by (known_at, lead_id)
    known: int  # known people in the histories
    waiting: int  # known, inside their horizon, nothing decided yet: left out


def outcome(person: PersonHistory, horizon: timedelta, end: datetime) -> bool | None:
    """True: reached opportunity or won within `horizon` of becoming known; False: did not, and the
    horizon has passed by `end` or a person closed the lead within it; None: not known yet, or nothing
    decided yet."""
    known_at = person.known_at
    if known_at is None:
        return None
    until = known_at + horizon
    reached = person.first_reached(POSITIVE)
    if reached is not None and reached <= until:
        return True
    closed = next((c.at for c in person.changes if c.by is not None and c.to_stage in CLOSED), None)
    if until <= end or (closed is not None and closed <= until):
        return False
    return None


def snapshot(person: PersonHistory, known_at: datetime) -> datetime:
    """When the person is judged: SNAPSHOT_DAYS after becoming known, or a moment before a person first
    moved their lead, whichever is earlier (never after the outcome: outcomes are people's moves)."""
    at = known_at + timedelta(days=SNAPSHOT_DAYS)
    moved = next((c.at for c in person.changes if c.by is not None), None)
    return min(at, moved - MOMENT) if moved is not None else at


def example_values(
    model: ScoringModel, person: PersonHistory, at: datetime, accounts: KnownAccounts | None = None
) -> dict[str, float]:
    """The features the live STATE held at `at`: the person's events up to then, replayed under `model`,
    with their account's features when `accounts` are known (as the live score reads them). Replay makes
    only scoring's stages, so no person's stage (the label) can show among them."""
    extra = accounts.of([person.lead_id, *sorted(person.leads)]) if accounts else None
    values = features(model, replay(model, person, until=at), at, extra)
    leaked = [name for name in values if name.startswith("stage:") and Stage(name[6:]).by_people]
    if leaked:
        raise AssertionError(f"a feature would tell the outcome: {leaked}")
    return values


def examples(
    model: ScoringModel,
    people: Iterable[PersonHistory],
    horizon: timedelta,
    end: datetime,
    accounts: KnownAccounts | None = None,
) -> Examples:
    found: list[Example] = []
    known = waiting = 0
    for person in people:
        known_at = person.known_at
        if known_at is None:
            continue
        known += 1
        label = outcome(person, horizon, end)
        if label is None:
            waiting += 1
            continue
        at = snapshot(person, known_at)
        values = example_values(model, person, at, accounts)
        found.append(Example(person.lead_id, known_at, at, label, values))
    found.sort(key=lambda e: (e.known_at, e.lead_id))
    return Examples(found, known, waiting)


def split(ordered: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """The earlier TRAIN_SHARE (by known_at, as `examples` orders them) to train, the rest to evaluate."""
    cut = round(len(ordered) * TRAIN_SHARE)
    return list(ordered[:cut]), list(ordered[cut:])


def guard(train: Sequence[Example]) -> None:
    positives = sum(e.positive for e in train)
    if positives < MIN_POSITIVES:
        raise NotEnoughOutcomes(
            f"the training period has {positives} positive outcome{'s' * (positives != 1)} (people who "
            f"reached opportunity or won); at least {MIN_POSITIVES} are needed, {MIN_POSITIVES - positives} "
            "more. Record outcomes in the sales workflow and train again later, widen --since or --horizon, "
            "or make demo data with the simulator (make run ARGS=--simulate)."
        )
    if positives == len(train):
        raise NotEnoughOutcomes(
            f"all {positives} people of the training period reached opportunity or won: nothing to tell them "
            "apart from. Train again once the horizon has passed for people who did not (or widen --since)."
        )


def fit(train: Sequence[Example]) -> tuple[float, list[tuple[str, float, float, float]]]:
    """A regularised logistic regression on the standardised features: the intercept and, per feature
    that moved it, (name, weight, mean, scale). Deterministic: features in name order, examples in the
    order given, a solver without randomness, one thread."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    names = sorted({name for e in train for name in e.values})
    raw = np.array([[e.values.get(name, 0.0) for name in names] for e in train], dtype=float)
    outcomes = np.array([e.positive for e in train], dtype=int)
    means = raw.mean(axis=0)
    scales = raw.std(axis=0)
    varies = scales > 1e-9  # a feature every example has alike teaches nothing
    names = [name for name, keep in zip(names, varies, strict=True) if keep]
    means, scales = means[varies], scales[varies]
    regression = LogisticRegression(
        C=C, l1_ratio=0.0, solver="lbfgs", max_iter=1000, random_state=RANDOM_STATE
    )
    with threadpool_limits(limits=1):  # one thread: the same sums in the same order on every machine
        regression.fit((raw[:, varies] - means) / scales, outcomes)
    weights = [
        (name, round(float(w), DIGITS), _rounded(float(m)), _rounded(float(s)))
        for name, w, m, s in zip(names, regression.coef_[0], means, scales, strict=True)
    ]
    return round(float(regression.intercept_[0]), DIGITS), [w for w in weights if w[1]]


def _rounded(value: float) -> float:
    """`value` to DIGITS significant digits (means and scales span orders of magnitude)."""
    if value == 0:
        return 0.0
    return round(value, DIGITS - 1 - math.floor(math.log10(abs(value))))


@dataclass(frozen=True)
class Scores:
    """How one score ranked the evaluation period's people against what became of them."""

    auc: float | None
    lift: float | None
    calibration: list[Bin]

    def as_dict(self) -> dict[str, Any]:
        return {
            "auc": _round(self.auc),
            "top_decile_lift": _round(self.lift),
            "calibration": [
                {
                    "low": b.low,
                    "high": b.high,
                    "count": b.count,
                    "predicted": _round(b.predicted),
                    "observed": _round(b.observed),
                }
                for b in self.calibration
            ],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


RULES_SCALE = 100.0  # the rules score's calibration bins: 0-10, 10-20, ... 90-100 and over


@dataclass(frozen=True)
class Period:
    examples: int
    positives: int
    first: datetime | None  # the earliest known_at in it
    last: datetime | None

    @classmethod
    def of(cls, found: Sequence[Example]) -> "Period":
        return cls(
            len(found),
            sum(e.positive for e in found),
            found[0].known_at if found else None,
            found[-1].known_at if found else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "positives": self.positives,
            "known_from": self.first.isoformat() if self.first else None,
            "known_until": self.last.isoformat() if self.last else None,
        }


@dataclass(frozen=True)
class Trained:
    artifact: PredictiveModel
    train: Period
    evaluate: Period
    model: Scores  # the predictive likelihood on the evaluation period
    rules: Scores  # the rules score at the same snapshots (bins of RULES_SCALE points: 0.1 is 10 points)
    known: int
    waiting: int
    features: int = field(default=0)  # how many features the examples had (the artifact keeps fewer)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.artifact.version,
            "label": self.artifact.label,
            "horizon_days": self.artifact.horizon_days,
            "snapshot_days": SNAPSHOT_DAYS,
            "scoring_model": self.artifact.scoring_model,
            "known_people": self.known,
            "left_out_inside_horizon": self.waiting,
            "train": self.train.as_dict(),
            "evaluate": self.evaluate.as_dict(),
            "model": self.model.as_dict(),
            "rules_score": self.rules.as_dict(),
            "features_seen": self.features,
            "weights": len(self.artifact.weights),
        }


def scores(values: Sequence[float], found: Sequence[Example], probabilities: Sequence[float]) -> Scores:
    outcomes = [e.positive for e in found]
    return Scores(
        roc_auc(values, outcomes), top_decile_lift(values, outcomes), calibration(probabilities, outcomes)
    )


def train(
    model: ScoringModel,
    people: Iterable[PersonHistory],
    horizon_days: int,
    end: datetime,
    version: int = 1,
    accounts: KnownAccounts | None = None,
) -> Trained:
    """A predictive model learnt from `people` as the archive knew them at `end` (its latest moment: also
    the artifact's `trained_at`, so the same archive gives the same artifact), judged on the later period
    beside the rules score. `accounts`: the people's account features (none: behaviour and fit only).
    NotEnoughOutcomes when the training period has too few positives."""
    horizon = timedelta(days=horizon_days)
    found = examples(model, people, horizon, end, accounts)
    earlier, later = split(found.examples)
    guard(earlier)
    intercept, fitted = fit(earlier)
    fitted.sort(key=lambda w: (-abs(w[1]), w[0]))
    label = f"reached opportunity or won within {horizon_days} days of becoming a lead"
    draft = PredictiveModel(
        version=version,
        label=label,
        horizon_days=horizon_days,
        trained_at=end,
        scoring_model=model.version,
        intercept=intercept,
        weights=tuple(
            Weight(
                feature=name,
                label=(accounts.label(name) if accounts else None) or label_of(name, model),
                weight=w,
                mean=m,
                scale=s,
            )
            for name, w, m, s in fitted
        ),
    )
    likelihoods = [draft.likelihood(e.values).probability for e in later]
    rules = [e.rules_score for e in later]
    judged = scores(likelihoods, later, likelihoods)
    ruled = scores(rules, later, [min(1.0, max(0.0, r / RULES_SCALE)) for r in rules])
    train_period, evaluate_period = Period.of(earlier), Period.of(later)
    evaluation: dict[str, float | int | str] = {
        "train_examples": train_period.examples,
        "train_positives": train_period.positives,
        "evaluate_examples": evaluate_period.examples,
        "evaluate_positives": evaluate_period.positives,
        "evaluated_from": evaluate_period.first.isoformat() if evaluate_period.first else "",
        "snapshot_days": SNAPSHOT_DAYS,
        "calibration": "; ".join(
            f"{b.low:.0%}-{b.high:.0%}: {b.count} predicted {b.predicted:.0%} observed {b.observed:.0%}"
            for b in judged.calibration
        ),
    }
    for name, value in (
        ("auc", judged.auc),
        ("rules_auc", ruled.auc),
        ("top_decile_lift", judged.lift),
        ("rules_top_decile_lift", ruled.lift),
    ):
        if value is not None:
            evaluation[name] = round(value, 3)
    seen = len({name for e in earlier for name in e.values})
    return Trained(
        draft.model_copy(update={"evaluation": evaluation}),
        train_period,
        evaluate_period,
        judged,
        ruled,
        found.known,
        found.waiting,
        seen,
    )
