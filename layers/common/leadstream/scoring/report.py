"""Source quality: which channels and campaigns bring visitors who become leads, MQLs and SQLs, and which
of them sales accepts, turns into opportunities and wins (revenue).

Attribution is by the lead's FIRST touch (the channel and campaign it first came by). A lead counts in every
stage it ever reached (its history, not only its current stage), once per stage however often it got there
(a recycled lead sent to sales twice is one SQL), on the day it first reached it. Reaching a stage counts
for the stages it stands on: a won deal was an opportunity, an opportunity was accepted, an accepted,
rejected or lost lead was an SQL, an SQL an MQL (PQL counts as MQL), even when a person or a hand-raise
skipped one. Disqualified counts nowhere. Revenue is the sum of won deals' amounts, per currency.

Two sources of the same figures: `source_quality` recounts from every person's first touch and stage
history (the CLI's exact recount, with visitors and leads: from the event archive's histories, no table
scan), `from_counters` adds up the per-day counters PublishFunction keeps (the API: no scan; it has no
visitors or leads, which only a recount sees).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import Transition
from leadstream.tracking.attribution import Touch

FIRST_TOUCH: Literal["first"] = "first"  # the touch every row is attributed by
ANY_CAMPAIGN = "*"  # the campaign of a row that adds up all of a channel's
NO_CAMPAIGN = "-"
UNKNOWN_CHANNEL = "unknown"

# The report's stage columns, in funnel order
MQL, SQL, ACCEPTED, REJECTED, OPPORTUNITY, WON, LOST = (
    "mqls",
    "sqls",
    "accepted",
    "rejected",
    "opportunities",
    "won",
    "lost",
)
COLUMNS = (MQL, SQL, ACCEPTED, REJECTED, OPPORTUNITY, WON, LOST)

# The columns a lead counts in when it reaches a stage (the stages it stands on, and the stage itself)
_COUNTS_IN: dict[Stage, tuple[str, ...]] = {
    Stage.LEAD: (),
    Stage.MQL: (MQL,),
    Stage.PQL: (MQL,),
    Stage.SQL: (MQL, SQL),
    Stage.REJECTED: (MQL, SQL, REJECTED),
    Stage.ACCEPTED: (MQL, SQL, ACCEPTED),
    Stage.OPPORTUNITY: (MQL, SQL, ACCEPTED, OPPORTUNITY),
    Stage.WON: (MQL, SQL, ACCEPTED, OPPORTUNITY, WON),
    Stage.LOST: (MQL, SQL, ACCEPTED, LOST),
    Stage.DISQUALIFIED: (),
}


class StageMove(Protocol):
    """A stage change as the report reads it: a lead's Transition, or a person's archived StageChange."""

    @property
    def to_stage(self) -> Stage: ...
    @property
    def at(self) -> datetime: ...
    @property
    def amount(self) -> float | None: ...
    @property
    def currency(self) -> str | None: ...


class Attributed(Protocol):
    """Who is counted: a lead's score, or a person's archived history."""

    @property
    def first_touch(self) -> Touch | None: ...
    @property
    def first_seen(self) -> datetime | None: ...
    @property
    def known(self) -> bool: ...


@dataclass(frozen=True)
class Period:
    """Days (UTC), both ends included; an open end is unbounded."""

    since: date | None = None
    until: date | None = None

    @property
    def open(self) -> bool:
        """No bounds at all: everything counts, even what has no date."""
        return self.since is None and self.until is None

    def covers(self, moment: datetime | date | None) -> bool:
        if moment is None:
            return False
        day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)


ALWAYS = Period()  # no bounds


def day_of(moment: datetime) -> str:
    """The UTC day of a moment, as the counters are keyed (YYYY-MM-DD)."""
    return moment.astimezone(UTC).date().isoformat()


def reached(history: Iterable[StageMove]) -> dict[str, datetime]:
    """Each stage column the lead counts in, with when it first got there."""
    first: dict[str, datetime] = {}
    for t in sorted(history, key=lambda t: t.at):
        for column in _COUNTS_IN[t.to_stage]:
            first.setdefault(column, t.at)
    return first


@dataclass(frozen=True)
class Counted:
    """What one stage change adds to its day's counters: the columns the lead reached for the first time,
    and a won deal's value."""

    columns: tuple[str, ...]
    currency: str | None = None
    amount: float | None = None

    def __bool__(self) -> bool:
        return bool(self.columns) or self.amount is not None


def counted(before: Sequence[Transition], transition: Transition) -> Counted:
    """What `transition` adds, given the lead's stage changes `before` it."""
    earlier = reached(before)
    new = tuple(c for c in _COUNTS_IN[transition.to_stage] if c not in earlier)
    if transition.to_stage is Stage.WON and transition.amount is not None:
        return Counted(new, transition.currency or "", transition.amount)
    return Counted(new)


@dataclass(frozen=True)
class DayCount:
    """One day's counters of one channel and campaign (first touch), as PublishFunction keeps them."""

    day: date
    channel: str
    campaign: str
    counts: Mapping[str, int]
    revenue: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityRow:
    channel: str
    campaign: str  # "*": all of the channel's campaigns
    visitors: int | None  # everyone scored, anonymous or known (a recount only)
    leads: int | None  # known contacts, identified by e-mail (a recount only)
    mqls: int  # reached MQL (or PQL) or beyond
    sqls: int  # handed over to sales (scoring or a hand-raise) or beyond
    accepted: int
    rejected: int
    opportunities: int
    won: int
    lost: int
    revenue: dict[str, float]  # won deals' amounts, per currency
    # conversion between stages: shares, 0..1 (None where there is nothing to convert)
    visitor_to_lead: float | None
    lead_to_mql: float | None
    mql_to_sql: float | None
    sql_to_accepted: float | None
    accepted_to_opportunity: float | None
    opportunity_to_won: float | None
    touch: str = FIRST_TOUCH

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _share(part: int, whole: int | None) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass
class _Tally:
    visitors: int = 0
    leads: int = 0
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    revenue: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def row(self, channel: str, campaign: str, recount: bool) -> QualityRow:
        s = self.stages
        visitors, leads = (self.visitors, self.leads) if recount else (None, None)
        return QualityRow(
            channel=channel,
            campaign=campaign,
            visitors=visitors,
            leads=leads,
            mqls=s[MQL],
            sqls=s[SQL],
            accepted=s[ACCEPTED],
            rejected=s[REJECTED],
            opportunities=s[OPPORTUNITY],
            won=s[WON],
            lost=s[LOST],
            revenue={currency: round(v, 2) for currency, v in sorted(self.revenue.items())},
            visitor_to_lead=_share(self.leads, visitors),
            lead_to_mql=_share(s[MQL], leads),
            mql_to_sql=_share(s[SQL], s[MQL]),
            sql_to_accepted=_share(s[ACCEPTED], s[SQL]),
            accepted_to_opportunity=_share(s[OPPORTUNITY], s[ACCEPTED]),
            opportunity_to_won=_share(s[WON], s[OPPORTUNITY]),
        )


def _key(channel: str, campaign: str | None, by_campaign: bool) -> tuple[str, str]:
    return channel, ((campaign or NO_CAMPAIGN) if by_campaign else ANY_CAMPAIGN)


def _rows(tallies: Mapping[tuple[str, str], _Tally], recount: bool) -> list[QualityRow]:
    rows = [tally.row(channel, campaign, recount) for (channel, campaign), tally in tallies.items()]
    return sorted(
        rows,
        key=lambda r: (-r.won, -r.sqls, -r.mqls, -(r.leads or 0), -(r.visitors or 0), r.channel, r.campaign),
    )


def source_quality(
    leads: Iterable[tuple[Attributed, Sequence[StageMove]]],
    by_campaign: bool = True,
    period: Period = ALWAYS,
) -> list[QualityRow]:
    """The exact recount: one row per first-touch channel (and campaign), from every person's (or lead's)
    first touch and stage history, best first. In a period: visitors and leads first seen in it, and those
    that first reached each stage in it (revenue: deals won in it)."""
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for score, history in leads:
        touch = score.first_touch
        channel = touch.channel.value if touch else UNKNOWN_CHANNEL
        tally = tallies[_key(channel, touch.campaign if touch else None, by_campaign)]
        if period.open or period.covers(score.first_seen):
            tally.visitors += 1
            tally.leads += score.known
        for column, at in reached(history).items():
            if period.open or period.covers(at):
                tally.stages[column] += 1
        for t in history:
            if t.to_stage is Stage.WON and t.amount is not None and (period.open or period.covers(t.at)):
                tally.revenue[t.currency or ""] += t.amount
    return _rows(tallies, recount=True)


def from_counters(days: Iterable[DayCount], by_campaign: bool = True) -> list[QualityRow]:
    """The report from per-day counters (those of the period asked for): no visitors or leads."""
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for day in days:
        tally = tallies[_key(day.channel, day.campaign, by_campaign)]
        for column in COLUMNS:
            tally.stages[column] += int(day.counts.get(column, 0))
        for currency, amount in day.revenue.items():
            tally.revenue[currency] += amount
    return _rows(tallies, recount=False)


class SourceQuality(BaseModel):
    """The source-quality report: conversion and revenue per first-touch channel (and campaign)."""

    model_config = ConfigDict(frozen=True)

    since: date | None = Field(description="first day (UTC) counted; null: from the start")
    until: date | None = Field(description="last day (UTC), included; null: to now")
    touch: Literal["first"] = Field(default=FIRST_TOUCH, description="the touch leads are attributed by")
    by: Literal["channel", "campaign"]
    rows: list[QualityRow] = Field(
        description="best first; a lead counts once in every stage it reached in the period (its history)"
    )
