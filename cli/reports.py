"""python -m cli report [sources|speed] [--since DAY] [--until DAY] [--json]

sources (the default, as `report` always was): conversion and revenue per first-touch channel or campaign,
an exact recount from the event archive (people's histories: the first touch of their first event, the
stages their stage changes reached, won deals' amounts; progress on stderr), with visitors and leads, which
the API's counters do not have. It reads the archive's objects, not the leads table: cheap at millions of
events. Every object is read whatever the period, since a person's first touch may precede it.
speed: time to first action on leads handed over to sales, p50/p95 (nearest-rank), met / breached / still
waiting, per owner, channel and campaign: the hand-over items PublishFunction keeps (one Query, the
same the API reads: no hand-over's timer outcome is lost when a recycled lead's STATE moves on).
"""

import argparse
import json
import sys
from typing import Any

from leadstream.sales.reports import ReportStore
from leadstream.sales.speed import SpeedRow, speed_to_lead
from leadstream.scoring.report import Period, source_quality

from cli import archive, options, output
from cli import target as targets

RATES = (
    "visitor_to_lead",
    "lead_to_mql",
    "mql_to_sql",
    "sql_to_accepted",
    "accepted_to_opportunity",
    "opportunity_to_won",
)


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    report = commands.add_parser(
        "report", help="source quality per channel / campaign (sources), speed to lead (speed)"
    )
    report.add_argument(
        "kind",
        nargs="?",
        choices=["sources", "speed"],
        default="sources",
        help="which report (default sources)",
    )
    report.add_argument("--by", choices=["channel", "campaign"], default="campaign", help="sources: rows by")
    report.add_argument("--since", type=options.day, help="first day counted, YYYY-MM-DD (UTC)")
    report.add_argument("--until", type=options.day, help="last day counted, included, YYYY-MM-DD (UTC)")
    report.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, target: targets.Target) -> int:
    period = Period(args.since, args.until)
    if period.since and period.until and period.since > period.until:
        print("error: --since is after --until", file=sys.stderr)
        return 2
    return _speed(args, target, period) if args.kind == "speed" else _sources(args, target, period)


def _money(revenue: dict[str, float]) -> str:
    return " ".join(f"{currency or '?'} {amount:,.2f}" for currency, amount in revenue.items()) or "-"


def _pct(value: object) -> str:
    return "-" if value is None else f"{float(str(value)) * 100:.0f}%"


def _sources(args: argparse.Namespace, target: targets.Target, period: Period) -> int:
    people = archive.people(target).values()  # the whole archive: a first touch may precede the period
    rows = source_quality(((p, p.changes) for p in people), args.by == "campaign", period)
    data = [r.as_dict() for r in rows]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"By first touch, {_period(period)}: a lead counts once in every stage it reached.")
    shown: list[dict[str, Any]] = [
        {**d, "revenue": _money(d["revenue"]), **{r: _pct(d[r]) for r in RATES}} for d in data
    ]
    stages = ["mqls", "sqls", "accepted", "rejected", "opportunities", "won", "lost", "revenue"]
    output.table(shown, ["channel", "campaign", "visitors", "leads", *stages, *RATES], sys.stdout)
    return 0


def _period(period: Period) -> str:
    if period.open:
        return "all time"
    return f"{period.since or 'the start'} to {period.until or 'now'} (UTC days)"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _speed(args: argparse.Namespace, target: targets.Target, period: Period) -> int:
    report = speed_to_lead(ReportStore(target.accounts_table, target.leads_table).handovers(period), period)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    print(f"Hand-overs to sales, {_period(period)}; time to first action, percentiles nearest-rank.")
    columns = ["handovers", "acted", "p50", "p95", "met", "breached", "waiting"]

    def rows(found: list[SpeedRow], key: list[str]) -> list[dict[str, Any]]:
        return [
            {
                **r.model_dump(include=set(key) | set(columns)),
                "p50": _duration(r.p50_seconds),
                "p95": _duration(r.p95_seconds),
            }
            for r in found
        ]

    for title, found, key in (
        ("All", [report.total], []),
        ("By owner", report.by_owner, ["owner"]),
        ("By channel", report.by_channel, ["channel"]),
        ("By campaign", report.by_campaign, ["channel", "campaign"]),
    ):
        print(f"\n{title}")
        output.table(rows(found, key), [*key, *columns], sys.stdout)
    return 0
