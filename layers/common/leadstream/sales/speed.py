"""Speed to lead: how long sales takes to act on a lead handed over to it (pure: no I/O).

A hand-over is a stage change to SQL (scoring's, or a hand-raise's), or any change marked as a hand-raise.
Its first action is the first accept or reject after it (before the next hand-over). The lead's STATE keeps
the speed-to-lead timer of its latest hand-over (`sla`: started_at, due_at, state running|met|breached,
acted_at, acted_by, breached_at); where it names a hand-over, its facts are that hand-over's (the timer
starts it, and says whether it was met). A recycled lead sent to sales again is a hand-over of its own.

Time to first action is acted_at - started_at. Percentiles are nearest-rank: the p-th percentile of n
durations is the ceil(p/100 * n)-th shortest, a duration that really happened (no interpolation).
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.report import ALWAYS, NO_CAMPAIGN, UNKNOWN_CHANNEL, Period
from leadstream.scoring.score import Transition
from leadstream.tracking.attribution import Touch

ACTIONS = frozenset({Stage.ACCEPTED, Stage.REJECTED})  # sales' first action on a hand-over
UNASSIGNED = "(unassigned)"
Outcome = Literal["met", "breached", "waiting", "acted"]


def is_handover(t: Transition) -> bool:
    return t.to_stage is Stage.SQL or t.hand_raiser


@dataclass(frozen=True)
class Handover:
    transition_id: str  # the stage change that handed the lead over
    lead_id: str
    handed_at: datetime  # when that stage change happened: the day a hand-over is filed and counted under
    started_at: datetime  # when its timer started (the stage change's time where no timer says otherwise)
    channel: str  # of the lead's first touch
    campaign: str
    owner: str | None = None  # who owned the lead while this was its timer (a sales user's e-mail)
    acted_at: datetime | None = None
    acted_by: str | None = None
    state: str | None = None  # the timer's: running | met | breached; None: no timer recorded
    due_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def outcome(self) -> Outcome:
        """met or breached as the timer says; else waiting (nobody acted yet) or acted (without a timer)."""
        if self.state in ("met", "breached"):
            return "met" if self.state == "met" else "breached"
        return "waiting" if self.acted_at is None else "acted"

    @property
    def seconds(self) -> float | None:
        """Time to first action."""
        return None if self.acted_at is None else (self.acted_at - self.started_at).total_seconds()


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _with_timer(handover: Handover, sla: Mapping[str, Any], owner: str | None) -> Handover:
    return replace(
        handover,
        started_at=_moment(sla.get("started_at")) or handover.started_at,
        acted_at=_moment(sla.get("acted_at")) or handover.acted_at,
        acted_by=sla.get("acted_by") or handover.acted_by,
        state=sla.get("state"),
        due_at=_moment(sla.get("due_at")),
        breached_at=_moment(sla.get("breached_at")),
        owner=owner,
    )


def handovers(
    lead_id: str, history: Sequence[Transition], sales: Mapping[str, Any], first_touch: Touch | None
) -> list[Handover]:
    """Every hand-over of a lead, from its stage history (oldest first) and its STATE's sales fields. The
    one the timer (`sales["sla"]`) names carries the timer's facts; it and the latest, the lead's current
    owner (an earlier one's owner is what was recorded while it was the lead's)."""
    channel = first_touch.channel.value if first_touch else UNKNOWN_CHANNEL
    campaign = (first_touch.campaign if first_touch else None) or NO_CAMPAIGN
    found: list[Handover] = []
    for t in history:
        if is_handover(t):
            found.append(Handover(t.id, lead_id, t.at, t.at, channel, campaign))
        elif t.to_stage in ACTIONS and found and found[-1].acted_at is None:
            found[-1] = replace(found[-1], acted_at=t.at, acted_by=t.by)
    sla = sales.get("sla") or {}
    owner = sales.get("owner")
    if found and sla.get("transition_id") != found[-1].transition_id:
        found[-1] = replace(found[-1], owner=owner)  # the lead's current hand-over, its timer not (yet) set
    return [_with_timer(h, sla, owner) if h.transition_id == sla.get("transition_id") else h for h in found]


def nearest_rank(values: Iterable[float], percentile: float) -> float | None:
    """The nearest-rank percentile: the ceil(p/100 * n)-th smallest value (None of nothing)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class SpeedRow(_Answer):
    """Hand-overs of one owner, channel or campaign (or all of them)."""

    owner: str | None = Field(default=None, description="by owner: the owner's e-mail, or '(unassigned)'")
    channel: str | None = Field(default=None, description="by channel or campaign: of the first touch")
    campaign: str | None = Field(default=None, description="by campaign: of the first touch ('-': none)")
    handovers: int = Field(description="hand-overs to sales (SQL or hand-raise) that started in the period")
    acted: int = Field(description="of them, accepted or rejected since")
    met: int = Field(description="acted on before the speed-to-lead timer ran out")
    breached: int = Field(description="the timer ran out first (acted on late, or not yet)")
    waiting: int = Field(description="nobody acted yet, and the timer has not run out (or none was set)")
    p50_seconds: float | None = Field(description="time to first action, median (nearest-rank)")
    p95_seconds: float | None = Field(description="time to first action, 95th percentile (nearest-rank)")


class SpeedBucket(_Answer):
    """Hand-overs acted on within a span of time to first action."""

    label: str = Field(description="e.g. '1-5 min'")
    min_seconds: float = Field(description="the shortest time counted here")
    max_seconds: float | None = Field(description="times from here on are counted in the next (null: none)")
    count: int


# The distribution's edges (seconds): under a minute, 1-5, 5-15, 15-60 minutes, an hour or more
BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("<1 min", 0.0, 60.0),
    ("1-5 min", 60.0, 300.0),
    ("5-15 min", 300.0, 900.0),
    ("15-60 min", 900.0, 3600.0),
    (">1 h", 3600.0, None),
)


def distribution(found: Iterable[Handover]) -> list[SpeedBucket]:
    """The acted-on hand-overs by time to first action (those still waiting are in `waiting`)."""
    seconds = [s for h in found if (s := h.seconds) is not None]
    return [
        SpeedBucket(
            label=label,
            min_seconds=low,
            max_seconds=high,
            count=sum(1 for s in seconds if (s >= low or low == 0) and (high is None or s < high)),
        )
        for label, low, high in BUCKETS
    ]


class SpeedToLead(_Answer):
    """Time to first action on leads handed over to sales, and the speed-to-lead timer's outcomes."""

    since: date | None = Field(description="first day (UTC) of the hand-overs counted; null: from the start")
    until: date | None = Field(description="last day (UTC), included; null: to now")
    percentiles: Literal["nearest-rank"] = "nearest-rank"
    total: SpeedRow
    distribution: list[SpeedBucket] = Field(description="the acted-on hand-overs by time to first action")
    by_owner: list[SpeedRow]
    by_channel: list[SpeedRow]
    by_campaign: list[SpeedRow]


def _row(found: Sequence[Handover], **key: str) -> SpeedRow:
    seconds = [s for h in found if (s := h.seconds) is not None]
    outcomes = [h.outcome for h in found]
    return SpeedRow(
        **key,
        handovers=len(found),
        acted=len(seconds),
        met=outcomes.count("met"),
        breached=outcomes.count("breached"),
        waiting=outcomes.count("waiting"),
        p50_seconds=nearest_rank(seconds, 50),
        p95_seconds=nearest_rank(seconds, 95),
    )


def _grouped(
    found: Sequence[Handover], key: Callable[[Handover], tuple[str, ...]], names: tuple[str, ...]
) -> list[SpeedRow]:
    groups: dict[tuple[str, ...], list[Handover]] = defaultdict(list)
    for h in found:
        groups[key(h)].append(h)
    rows = [_row(members, **dict(zip(names, k, strict=True))) for k, members in groups.items()]
    return sorted(rows, key=lambda r: (-r.handovers, r.owner or "", r.channel or "", r.campaign or ""))


def speed_to_lead(found: Iterable[Handover], period: Period = ALWAYS) -> SpeedToLead:
    """The report of the hand-overs that started in `period`."""
    kept = [h for h in found if period.open or period.covers(h.handed_at)]
    return SpeedToLead(
        since=period.since,
        until=period.until,
        total=_row(kept),
        distribution=distribution(kept),
        by_owner=_grouped(kept, lambda h: (h.owner or UNASSIGNED,), ("owner",)),
        by_channel=_grouped(kept, lambda h: (h.channel,), ("channel",)),
        by_campaign=_grouped(kept, lambda h: (h.channel, h.campaign), ("channel", "campaign")),
    )
