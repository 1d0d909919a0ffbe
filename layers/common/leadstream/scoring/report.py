"""Source quality: which channels and campaigns bring visitors who become leads, MQLs and SQLs."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore


@dataclass(frozen=True)
class QualityRow:
    channel: str
    campaign: str
    visitors: int  # everyone scored, anonymous or known
    leads: int  # known contacts (identified by e-mail)
    mqls: int  # leads that reached MQL or beyond
    sqls: int  # leads that reached SQL
    visitor_to_lead: float | None  # shares, 0..1
    lead_to_mql: float | None
    mql_to_sql: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def source_quality(scores: Iterable[LeadScore], by_campaign: bool = True) -> list[QualityRow]:
    """One row per first-touch channel (and campaign), best converting first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for score in scores:
        touch = score.first_touch
        channel = touch.channel.value if touch else "unknown"
        campaign = (touch.campaign if touch and touch.campaign else "-") if by_campaign else "*"
        row = counts[(channel, campaign)]
        row[0] += 1
        if score.known:
            row[1] += 1
            row[2] += score.stage.rank >= Stage.MQL.rank
            row[3] += score.stage is Stage.SQL
    rows = [
        QualityRow(
            channel,
            campaign,
            visitors,
            leads,
            mqls,
            sqls,
            _share(leads, visitors),
            _share(mqls, leads),
            _share(sqls, mqls),
        )
        for (channel, campaign), (visitors, leads, mqls, sqls) in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.sqls, -r.mqls, -r.leads, -r.visitors, r.channel, r.campaign))
