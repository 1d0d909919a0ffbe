"""python -m cli model shadow-report [--version N] [--json]: the candidate model of shadow mode beside the
live one, over the people the candidate scored.

Reads the candidate's records (16 Queries of the SHADOW# partitions, never a Scan; progress on stderr) and
each person's stage changes as recorded (one Query of their TRANS# items), and prints: agreement (both
models have the person at the same stage), the stages each model has people at, and the SQLs the candidate
would add or drop with what became of those people (accepted, rejected, opportunity, won, lost,
disqualified, or still waiting). `--json` prints the same for CI, with the lead ids of each group.
"""

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.shadow.report import OUTCOMES, ShadowReport, compare, shadow_report
from leadstream.shadow.repository import ShadowRepository
from leadstream.shadow.score import ShadowScore

from cli import output
from cli import target as targets

NAME = "shadow-report"
PARALLEL_READS = 8  # people's stage changes read at once


def add_parser(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    report = actions.add_parser(
        NAME,
        help="shadow mode: the candidate model beside the live one (agreement, SQLs added and dropped)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "--version",
        type=int,
        metavar="N",
        help="the candidate model's version (default: the newest one recorded)",
    )
    report.add_argument("--json", action="store_true", help="the report as JSON on stdout")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _print(report: ShadowReport) -> None:
    live = ", ".join(f"v{v}" for v in report.live_versions) or "?"
    print(
        f"Shadow mode: candidate model v{report.candidate_version} beside the live model {live}, "
        f"{report.people} people scored."
    )
    print(f"Agreement (the same stage): {report.agree} of {report.people} ({_pct(report.agreement)})\n")
    stages = [{"stage": s, **counts} for s, counts in report.stages.items()]
    output.table(stages, ["stage", "live", "candidate"], sys.stdout)
    titles = {"both": "both", "added": "added (candidate only)", "dropped": "dropped (live only)"}
    rows = [{"SQLs": titles[name], **group} for name, group in report.sqls.items()]
    print("\nSQLs, and what became of them (the latest move by sales):")
    output.table(rows, ["SQLs", "people", *OUTCOMES], sys.stdout)


def run(args: argparse.Namespace, target: targets.Target) -> int:
    shadows = ShadowRepository(target.leads_table)
    found: list[ShadowScore] = list(
        output.progress(shadows.recorded(args.version), sys.stderr, noun="shadow records")
    )
    versions = sorted({s.model_version for s in found})
    if not found:
        which = f"of candidate v{args.version} " if args.version is not None else ""
        print(
            f"error: no shadow records {which}in {target.leads_table}: deploy with the ShadowScoringModel "
            "parameter (make run ARGS='--parameter ShadowScoringModel=...') and let events arrive",
            file=sys.stderr,
        )
        return 1
    version = args.version if args.version is not None else versions[-1]
    if len(versions) > 1:
        print(f"candidate versions recorded: {versions}; reporting v{version} (--version)", file=sys.stderr)
    people = [s for s in found if s.model_version == version]
    scores = ScoreRepository(target.leads_table)
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        histories = list(pool.map(lambda s: scores.history(s.lead_id), people))
    report = shadow_report(
        version, [compare(s, h) for s, h in zip(people, histories, strict=True)], load_model().version
    )
    if args.json:
        data: dict[str, Any] = report.as_dict()
        print(json.dumps(data, indent=2))
        return 0
    _print(report)
    return 0
