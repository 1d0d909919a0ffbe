"""Source quality: which channels and campaigns bring leads that become MQLs and SQLs."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from leadstream.domain.lifecycle import Stage
from leadstream.domain.scoring import LeadScore


@dataclass(frozen=True)
class QualityRow:
    channel: str
    campaign: str
    leads: int
    mqls: int  # reached MQL or beyond
    sqls: int
    lead_to_mql: float | None  # share, 0..1
    mql_to_sql: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def source_quality(scores: Iterable[LeadScore], by_campaign: bool = True) -> list[QualityRow]:
    """One row per first-touch channel (and campaign), best converting first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for score in scores:
        touch = score.first_touch
        channel = touch.channel.value if touch else "unknown"
        campaign = (touch.campaign if touch and touch.campaign else "-") if by_campaign else "*"
        row = counts[(channel, campaign)]
        row[0] += 1
        row[1] += score.stage.rank >= Stage.MQL.rank
        row[2] += score.stage is Stage.SQL
    rows = [
        QualityRow(
            channel,
            campaign,
            leads,
            mqls,
            sqls,
            round(mqls / leads, 3) if leads else None,
            round(sqls / mqls, 3) if mqls else None,
        )
        for (channel, campaign), (leads, mqls, sqls) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.sqls, -r.mqls, -r.leads, r.channel, r.campaign))
