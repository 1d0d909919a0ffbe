"""python -m cli model backtest [--model FILE] [--live FILE] [--since DAY] [--until DAY] [--json]

Replays the archive's people under a candidate scoring model (--model, default the shipped scoring.yaml)
and under the live one (--live, default the shipped one), and prints them beside each other: who would
have become MQL, PQL and SQL and how soon, how each stage converted to opportunity and won, precision and
recall of SQL against conversion, ROC AUC and top-decile lift of the score, how much earlier or later the
converters would have been flagged, and whether the live model's replay matches what scoring did live.
People first seen from --since to --until (days of the events' time, UTC) are replayed, with what
happened up to the end of --until. docs/models.md ("Backtest") explains each number.
"""

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from leadstream.archive.backtest import Backtest, Candidate, ModelFigures, backtest
from leadstream.scoring.model_file import SHIPPED_MODEL, load_model, model_file
from leadstream.scoring.report import Period

from cli import archive, options, output
from cli import target as targets

NAME = "backtest"
EVERY = 1_000  # people replayed between two progress lines


def add_parser(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    command = actions.add_parser(
        NAME,
        help="replay the archive under a candidate model beside the live one",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "--model", type=Path, help="the candidate scoring model, YAML (default: the shipped one)"
    )
    command.add_argument("--live", type=Path, help="the live scoring model, YAML (default: the shipped one)")
    command.add_argument(
        "--since", type=options.day, help="people first seen from this day, YYYY-MM-DD (UTC)"
    )
    command.add_argument("--until", type=options.day, help="up to this day, included, YYYY-MM-DD (UTC)")
    command.add_argument("--json", action="store_true", help="the figures as JSON (for CI)")


def _candidate(path: Path | None) -> Candidate:
    if path is None:
        return Candidate(f"shipped ({SHIPPED_MODEL.name})", load_model())
    return Candidate(str(path), model_file(path))


def _replayed(n: int) -> None:
    if n % EVERY == 0:
        print(f"replayed {n:,} people…", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, target: targets.Target) -> int:
    period = Period(args.since, args.until)
    if period.since and period.until and period.since > period.until:
        print("error: --since is after --until", file=sys.stderr)
        return 2
    candidate, live = _candidate(args.model), _candidate(args.live)  # a bad file fails before any reading
    people = archive.people(target, period.since)
    result = backtest(people.values(), candidate, live, period, _replayed)
    if not result.people:
        print(
            f"error: the archive holds nobody first seen {_period(period)} ({len(people):,} people in the "
            "objects read): widen --since/--until, or check that ArchiveFunction runs (README: The event "
            "archive)",
            file=sys.stderr,
        )
        return 1
    print(f"replayed {result.people:,} people under both models.", file=sys.stderr)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        _print(result)
    return 0


def _period(period: Period) -> str:
    return f"from {period.since or 'the start'} to {period.until or 'now'} (UTC days)"


def _num(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _column(figures: ModelFigures) -> dict[str, str]:
    values: dict[str, str] = {}
    for stage in figures.stages:
        values[f"{stage.stage} reached"] = str(stage.reached)
        values[f"{stage.stage} median days"] = _num(stage.median_days)
        values[f"{stage.stage} to opportunity"] = _pct(stage.to_opportunity)
        values[f"{stage.stage} to won"] = _pct(stage.to_won)
    values["SQL precision"] = _pct(figures.sql_precision)
    values["SQL recall"] = _pct(figures.sql_recall)
    values["ROC AUC"] = _num(figures.roc_auc)
    values["top-decile lift"] = _num(figures.top_decile_lift, "x")
    return values


def _print(result: Backtest) -> None:
    period = Period(*(None if d is None else date.fromisoformat(d) for d in (result.since, result.until)))
    who = "everyone in the archive" if period.open else f"people first seen {_period(period)}"
    print(
        f"Backtest of {who}: {result.people:,} people, {result.converted:,} converted (opportunity or "
        f"won), {result.won:,} won."
    )
    mine, theirs = result.candidate, result.live
    print(
        f"Candidate: {mine.model} (version {mine.version}); live: {theirs.model} (version {theirs.version})."
    )
    print(f"Scores judged at {result.judged_at}.")
    columns = ("", f"candidate v{mine.version}", f"live v{theirs.version}")
    left, right = _column(mine), _column(theirs)
    rows: list[dict[str, Any]] = [{columns[0]: k, columns[1]: left[k], columns[2]: right[k]} for k in left]
    output.table(rows, list(columns), sys.stdout)
    t = result.timing
    print(
        f"\nConverters ({t.converters}) made SQL by the candidate: {t.earlier} earlier, {t.later} later, "
        f"{t.same} at the same moment, {t.only_candidate} only by the candidate, {t.only_live} only by the "
        f"live model, {t.neither} by neither; median {_num(t.median_days)} days (< 0: earlier)."
    )
    a = result.agreement
    print(
        f"Live model replayed against live scoring: {a.matching:,} of {a.people:,} people the same (stages "
        f"and times), {a.differing:,} differ; {a.live_changes:,} live stage changes, {a.other_versions:,} of "
        "them by another model version."
    )
    if a.differing_leads:
        print(f"First that differ: {', '.join(output.cell(lead) for lead in a.differing_leads)}")
