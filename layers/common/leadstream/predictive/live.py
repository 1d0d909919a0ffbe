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

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from leadstream.contracts.events import CardDriver, CardLikelihood
from leadstream.predictive.features import ACCOUNT_FIT, features
from leadstream.predictive.model import Likelihood, PredictiveModel
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

NOT_LIVE = ("account:",)  # prefixes of features the live score has no value for (but ACCOUNT_FIT's, below)
DRIVERS = 3  # the features that moved it most, either way, that sales sees

# leads' account features by lead id, for the leads given (predictive.accounts.AccountFacts.of_leads)
Accounts = Callable[[Iterable[str]], Mapping[str, Mapping[str, float]]]


def reads_accounts(model: PredictiveModel) -> bool:
    """Whether the artifact names account fit features, the only ones live scoring reads from elsewhere."""
    return any(w.feature.startswith(ACCOUNT_FIT) for w in model.weights)


class LivePredictor:
    """The predictive model as ScoreFunction runs it, with the scoring model its features come from."""

    def __init__(
        self, scoring: ScoringModel, model: PredictiveModel, accounts: Accounts | None = None
    ) -> None:
        """`accounts`: the reader of leads' account features, kept only if the artifact names one."""
        self.scoring, self.model = scoring, model
        self.accounts = accounts if reads_accounts(model) else None

    def __call__(
        self, score: LeadScore, at: datetime | None = None, account: Mapping[str, float] | None = None
    ) -> Likelihood:
        """The likelihood of a scored lead, with its account's features (`account`) when known."""
        return self.model.likelihood(
            features(self.scoring, score, at or datetime.now(UTC), account), top=DRIVERS
        )

    def of_batch(self, lead_ids: Iterable[str]) -> Callable[[LeadScore], Likelihood]:
        """The likelihood for the leads of one batch: their accounts' features read once for all of them
        (not at all for an artifact without such features)."""
        known = self.accounts(lead_ids) if self.accounts else {}
        return lambda score: self(score, account=known.get(score.lead_id))

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
