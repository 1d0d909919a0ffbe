"""The likelihood live: what ScoreFunction computes after a lead's score changed, and how it is shown (pure).

One call is `features` then `PredictiveModel.likelihood`: O(features), no I/O. ScoreFunction stores the
result on the lead's STATE in the same write as the score (and on a stage change's TRANS# item, so the
notification tells the likelihood of that moment); the sales API and the notifications show what is
stored. The model never decides a stage: it is shown beside the rules score, nothing more.

Live scoring has the lead's STATE; when the artifact names account fit features (`account:fit:<rule>`,
predictive/accounts.py), the predictor is given the reader of the lead's account, and only then reads it.
Other features computed from elsewhere are absent live, which the model reads as 0: `missing_live` names
them, so the function can say so at cold start.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from leadstream.contracts.events import CardDriver, CardLikelihood
from leadstream.predictive.features import ACCOUNT_FIT, features
from leadstream.predictive.model import Likelihood, PredictiveModel
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

NOT_LIVE = ("account:",)  # prefixes of features the live score has no value for (but ACCOUNT_FIT's, below)
DRIVERS = 3  # the features that moved it most, either way, that sales sees


class LivePredictor:
    """The predictive model as ScoreFunction runs it, with the scoring model its features come from."""

    def __init__(
        self,
        scoring: ScoringModel,
        model: PredictiveModel,
        accounts: Callable[[str], Mapping[str, float]] | None = None,
    ) -> None:
        """`accounts`: a lead's account features by its id (predictive.accounts.AccountFacts), read for each
        lead only if the artifact names one."""
        self.scoring, self.model = scoring, model
        wanted = any(w.feature.startswith(ACCOUNT_FIT) for w in model.weights)
        self.accounts = accounts if wanted else None

    def __call__(self, score: LeadScore, at: datetime | None = None) -> Likelihood:
        extra = self.accounts(score.lead_id) if self.accounts else None
        return self.model.likelihood(
            features(self.scoring, score, at or datetime.now(UTC), extra), top=DRIVERS
        )

    def missing_live(self) -> list[str]:
        return sorted(
            w.feature
            for w in self.model.weights
            if w.feature.startswith(NOT_LIVE) and not (self.accounts and w.feature.startswith(ACCOUNT_FIT))
        )


def card_likelihood(likelihood: Likelihood | None) -> CardLikelihood | None:
    """A likelihood as the API and the notifications show it (None: none was computed)."""
    if likelihood is None:
        return None
    return CardLikelihood(
        probability=round(likelihood.probability, 4),
        model_version=likelihood.model_version,
        drivers=[CardDriver(feature=d.feature, label=d.label, effect=d.effect) for d in likelihood.drivers],
    )
