"""The predictive model's artifact and its evaluation: a logistic regression kept as data (pure).

The artifact is a YAML document committed like the scoring model (`python -m cli model train` writes it):
an intercept and, per feature, its weight and the mean and scale it was standardised with during training.
Evaluating it is a sum over the features a lead has, O(features): no training library, nothing loaded but
the document. A feature the artifact does not name is ignored; one it names that the lead lacks is 0.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weight(_Strict):
    feature: str  # the name `features.features` gives it (e.g. "rule:pricing_page", "channel:email")
    label: str  # what a sales rep reads beside the likelihood ("Viewed pricing")
    weight: float  # per standard deviation of the feature
    mean: float = 0.0
    scale: float = Field(default=1.0, gt=0)

    def contribution(self, value: float) -> float:
        return self.weight * (value - self.mean) / self.scale


class PredictiveModel(_Strict):
    version: int = Field(ge=1)
    kind: str = Field(default="logistic", pattern="^logistic$")
    label: str  # what it predicts, in words ("reached opportunity or won within 90 days of becoming a lead")
    horizon_days: int = Field(gt=0)
    trained_at: datetime
    scoring_model: int  # the version of the scoring model its features were computed under
    intercept: float
    weights: tuple[Weight, ...]
    # how it did on the held-out (later) period when it was trained, and the rules score beside it
    evaluation: dict[str, float | int | str] = Field(default_factory=dict)

    def likelihood(self, values: Mapping[str, float], top: int = 3) -> "Likelihood":
        """The probability the label comes true for a lead with these feature values, and the features
        that moved it most (either way) from the average lead's."""
        parts = [(w, w.contribution(values.get(w.feature, 0.0))) for w in self.weights]
        logit = self.intercept + sum(part for _, part in parts)
        parts.sort(key=lambda item: (-abs(item[1]), item[0].feature))
        drivers = tuple(Driver(w.feature, w.label, round(part, 3)) for w, part in parts[:top] if part)
        return Likelihood(_sigmoid(logit), drivers, self.version)


@dataclass(frozen=True)
class Driver:
    feature: str
    label: str
    effect: float  # its share of the log-odds: positive raises the likelihood, negative lowers it


@dataclass(frozen=True)
class Likelihood:
    probability: float  # 0..1
    drivers: tuple[Driver, ...]
    model_version: int


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    z = math.exp(x)
    return z / (1 + z)
