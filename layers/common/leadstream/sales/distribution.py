"""Score distribution by stage (pure: no I/O): how many of the leads at each stage score how much, now.

Read from the sparse index LeadsByStage (one Query per stage, newest change first, never a scan): a stage
with more than `bound` listed leads is counted from its `bound` most recently changed leads, and says so
(`truncated`). Scores are as of the moment asked (behaviour points decay); the buckets are 25 points wide
(the shipped model's MQL and SQL thresholds, 50 and 75, are bucket edges), with one for negative scores and
one open-ended at the top.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

BUCKET_WIDTH = 25
TOP = 150  # scores from here on share the last bucket
MAX_PER_STAGE = 2000  # leads a stage's histogram reads at most (its most recently changed)


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoreBucket(_Answer):
    label: str = Field(description="e.g. '50-74'; '<0' and '150+' at the ends")
    low: float | None = Field(description="the lowest score counted here (null: no lower bound)")
    high: float | None = Field(description="scores below this are counted here (null: no upper bound)")
    count: int


class StageScores(_Answer):
    stage: str
    leads: int = Field(description="leads counted (at most max_per_stage)")
    truncated: bool = Field(description="the stage holds more listed leads than were read")
    p50: float | None = Field(description="the median score (nearest-rank), rounded to one decimal")
    buckets: list[ScoreBucket]


class ScoreDistribution(_Answer):
    """Leads worth listing (known, or past `lead`) per stage and score bucket, scored now."""

    as_of: datetime = Field(description="when the scores were computed")
    bucket_width: int = BUCKET_WIDTH
    max_per_stage: int = Field(description="a stage with more leads is counted from its latest-changed ones")
    stages: list[StageScores]


def _edges() -> list[tuple[str, float | None, float | None]]:
    edges: list[tuple[str, float | None, float | None]] = [("<0", None, 0.0)]
    for low in range(0, TOP, BUCKET_WIDTH):
        edges.append((f"{low}-{low + BUCKET_WIDTH - 1}", float(low), float(low + BUCKET_WIDTH)))
    edges.append((f"{TOP}+", float(TOP), None))
    return edges


def _median(scores: Sequence[float]) -> float | None:
    ordered = sorted(scores)
    return round(ordered[(len(ordered) + 1) // 2 - 1], 1) if ordered else None


def stage_scores(stage: str, scores: Iterable[float], truncated: bool) -> StageScores:
    found = list(scores)
    buckets = [
        ScoreBucket(
            label=label,
            low=low,
            high=high,
            count=sum(1 for s in found if (low is None or s >= low) and (high is None or s < high)),
        )
        for label, low, high in _edges()
    ]
    return StageScores(
        stage=stage, leads=len(found), truncated=truncated, p50=_median(found), buckets=buckets
    )
