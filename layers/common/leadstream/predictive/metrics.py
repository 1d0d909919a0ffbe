"""How well a score ranks people against what became of them (pure): ROC AUC, lift in the top decile,
precision and recall, calibration. Shared by the backtest, training and the shadow report, so a rules
score and a predictive one are judged by the same arithmetic. Ties are broken neither way (AUC counts a
tie as half), and every function is deterministic in its input's order-independent content.
"""

from collections.abc import Sequence
from dataclasses import dataclass


def roc_auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """The chance a random positive scores above a random negative (ties count half); None without both."""
    pairs = sorted(zip(scores, outcomes, strict=True), key=lambda p: p[0])
    positives = sum(1 for _, o in pairs if o)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(pairs):  # average ranks over ties
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        average = (i + 1 + j) / 2
        rank_sum += average * sum(1 for _, o in pairs[i:j] if o)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def top_decile_lift(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """How many times the base rate the top 10% by score converts (at least one person; ties at the cut are
    shared out at the group's rate). None without a positive."""
    n = len(scores)
    positives = sum(outcomes)
    if not n or not positives:
        return None
    cut = max(1, round(n / 10))
    ranked = sorted(zip(scores, outcomes, strict=True), key=lambda p: -p[0])
    threshold = ranked[cut - 1][0]
    above = [o for s, o in ranked if s > threshold]
    tied = [o for s, o in ranked if s == threshold]
    hits = sum(above) + (cut - len(above)) * (sum(tied) / len(tied))
    return (hits / cut) / (positives / n)


@dataclass(frozen=True)
class PrecisionRecall:
    flagged: int
    positives: int
    hits: int

    @property
    def precision(self) -> float | None:
        return self.hits / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.hits / self.positives if self.positives else None


def precision_recall(flagged: Sequence[bool], outcomes: Sequence[bool]) -> PrecisionRecall:
    """Of those flagged (e.g. became SQL), how many converted; of those who converted, how many flagged."""
    pairs = list(zip(flagged, outcomes, strict=True))
    return PrecisionRecall(sum(f for f, _ in pairs), sum(o for _, o in pairs), sum(f and o for f, o in pairs))


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean predicted probability in the bin
    observed: float  # share that converted


def calibration(probabilities: Sequence[float], outcomes: Sequence[bool], bins: int = 10) -> list[Bin]:
    """Predicted against observed, in `bins` equal-width bins of probability (empty bins left out)."""
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, o in zip(probabilities, outcomes, strict=True):
        groups[min(bins - 1, int(p * bins))].append((p, o))
    return [
        Bin(i / bins, (i + 1) / bins, len(g), sum(p for p, _ in g) / len(g), sum(o for _, o in g) / len(g))
        for i, g in enumerate(groups)
        if g
    ]
