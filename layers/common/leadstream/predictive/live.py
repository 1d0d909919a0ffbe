"""The likelihood live: what ScoreFunction computes after a lead's score changed, and how it is shown (pure).

One call is `features` then `PredictiveModel.likelihood`: O(features), no I/O. ScoreFunction stores the
result on the lead's STATE in the same write as the score (and on a stage change's TRANS# item, so the
notification tells the likelihood of that moment); the sales API and the notifications show what is
stored. The model never decides a stage: it is shown beside the rules score, nothing more.

Live scoring has the lead's STATE only: features the artifact names that are computed from elsewhere
(`account:<name>`, the account's) are absent live, which the model reads as 0. `missing_live` names them,
so the function can say so at cold start.
"""

from datetime import UTC, datetime

from leadstream.contracts.events import CardDriver, CardLikelihood
from leadstream.predictive.features import features
from leadstream.predictive.model import Likelihood, PredictiveModel
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

NOT_LIVE = ("account:",)  # prefixes of features the live score has no value for
DRIVERS = 3  # the features that moved it most, either way, that sales sees


class LivePredictor:
    """The predictive model as ScoreFunction runs it, with the scoring model its features come from."""

    def __init__(self, scoring: ScoringModel, model: PredictiveModel) -> None:
        self.scoring, self.model = scoring, model

    def __call__(self, score: LeadScore, at: datetime | None = None) -> Likelihood:
        return self.model.likelihood(features(self.scoring, score, at or datetime.now(UTC)), top=DRIVERS)

    def missing_live(self) -> list[str]:
        return sorted(w.feature for w in self.model.weights if w.feature.startswith(NOT_LIVE))


def card_likelihood(likelihood: Likelihood | None) -> CardLikelihood | None:
    """A likelihood as the API and the notifications show it (None: none was computed)."""
    if likelihood is None:
        return None
    return CardLikelihood(
        probability=round(likelihood.probability, 4),
        model_version=likelihood.model_version,
        drivers=[CardDriver(feature=d.feature, label=d.label, effect=d.effect) for d in likelihood.drivers],
    )
