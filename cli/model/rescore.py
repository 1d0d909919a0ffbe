"""python -m cli model rescore --model FILE [--since DAY] [--dry-run] [--json]: every lead's score recomputed
from the event archive under a new scoring model (`leadstream.scoring.rescore`).

The archive is read first (progress on stderr), people's histories built from it, then each person's lead
is rescored, 100 STATE items per read: progress on stderr (people done / total, written, skipped), a
summary at the end (`--json`: on stdout, lead ids only, no personal data). `--dry-run` reads and compares
everything and writes nothing. A run stopped midway is started again as it was: what it wrote compares
equal and is skipped. Exit status 1 when some leads were left for another run (the archive behind their
STATE, or other writers winning every attempt).
"""

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from leadstream.archive.history import PersonHistory
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.store import ArchiveStore
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.rescore import Rescore, Rescored, Result, people_of

from cli import options, output
from cli import target as targets

NAME = "rescore"
BEGINNING = date(2000, 1, 1)  # before any archive: "from its first day"
SKIPPED = (Result.MISSING, Result.ERASED, Result.MERGED, Result.NO_EVENTS, Result.BEHIND, Result.CONFLICT)
LEFT = (Result.BEHIND, Result.CONFLICT)  # a later run may still do these
CHANGES_SHOWN = 20  # the leads a dry run lists on a terminal (--json lists them all)


def add_parser(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rescore = actions.add_parser(
        NAME,
        help="recompute every lead's score from the archive under a new model (no one is notified)",
        description="Replays every person's archived events under the model in FILE and writes each "
        "lead's score with the model's version. Stages never move back; a stage the model reaches is "
        "recorded as a rescored stage change, dated when the model would have reached it, never "
        "published or notified. Deploy the same file as the live model.",
    )
    rescore.add_argument("--model", type=Path, required=True, metavar="FILE", help="the scoring model (YAML)")
    rescore.add_argument(
        "--since", type=options.day, metavar="DAY", help="read the archive from this day (default: its first)"
    )
    rescore.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    rescore.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def _model(path: Path) -> ScoringModel | None:
    try:
        return load_model(path.resolve())
    except OSError as exc:
        print(f"error: cannot read the model file {path} ({exc.strerror or exc})", file=sys.stderr)
    except ValueError as exc:  # pydantic's ValidationError, YAML's errors
        first = str(exc).splitlines()[:3]
        print(f"error: {path} is not a scoring model: {' '.join(first)}", file=sys.stderr)
    return None


def _read(reader: ArchiveReader, since: date) -> tuple[dict[str, PersonHistory], dict[str, float]]:
    today = datetime.now(UTC).date()
    return people_of(output.progress(reader.records(since, today), sys.stderr, noun="archived records"))


class _Progress:
    """ "rescored 120/2,400 people: 37 written, 80 unchanged, 3 skipped" about twenty times a run."""

    def __init__(self, total: int, out: TextIO, dry_run: bool) -> None:
        self.total, self.out, self.dry_run = total, out, dry_run
        self.every = max(1, total // 20)
        self.tty = out.isatty()

    def show(self, done: int, counts: Counter[Result], final: bool = False) -> None:
        if not final and done % self.every:
            return
        skipped = sum(counts[r] for r in SKIPPED)
        wrote = "would write" if self.dry_run else "written"
        line = (
            f"rescored {done:,}/{self.total:,} people: {counts[Result.WRITTEN]:,} {wrote}, "
            f"{counts[Result.UNCHANGED]:,} unchanged, {skipped:,} skipped"
        )
        self.out.write(f"\r{line}" + ("\n" if final or not self.tty else ""))
        self.out.flush()


def _change(found: Rescored, model: ScoringModel, now: datetime) -> dict[str, Any]:
    before, after = found.before, found.after
    assert before is not None
    assert after is not None
    return {
        "lead_id": found.lead_id,
        "stage_before": before.stage.value,
        "stage": after.stage.value,
        "score_before": round(before.score_at(model, now), 1),
        "score": round(after.score_at(model, now), 1),
        "model_before": found.model_before,
        "rescored": [{"to": t.to_stage.value, "at": t.at.isoformat()} for t in after.transitions],
    }


def run(args: argparse.Namespace, target: targets.Target) -> int:
    if not target.archive_bucket:
        print(
            "error: this stack has no event archive (ArchiveBucket): rescoring reads people's histories "
            "from it; deploy the archive and let it fill first",
            file=sys.stderr,
        )
        return 2
    model = _model(args.model)
    if model is None:
        return 2
    people, stored_at = _read(ArchiveReader(ArchiveStore(target.archive_bucket)), args.since or BEGINNING)
    ordered = [people[lead] for lead in sorted(people)]
    err = sys.stderr
    print(
        f"rescoring {len(ordered):,} people under model version {model.version}"
        + (" (dry run: nothing is written)" if args.dry_run else ""),
        file=err,
    )
    print(
        "note: the live model must be this same file (deploy it as the scoring model), or ScoreFunction "
        "keeps scoring new events under its own version",
        file=err,
    )
    now = datetime.now(UTC)
    counts: Counter[Result] = Counter()
    versions: Counter[str] = Counter()
    moves: Counter[str] = Counter()
    changes: list[dict[str, Any]] = []
    lower = 0
    warned = False
    shown = _Progress(len(ordered), err, args.dry_run)
    rescore = Rescore(ScoreRepository(target.leads_table), model, dry_run=args.dry_run)
    for done, found in enumerate(rescore.people(ordered, stored_at), 1):
        counts[found.result] += 1
        if found.before is not None and found.result not in (Result.MISSING, Result.MERGED):
            versions[str(found.model_before)] += 1
            if not warned and found.model_before is not None and found.model_before >= model.version:
                warned = True
                print(
                    f"\nwarning: the model's version ({model.version}) is not newer than the version on "
                    f"STATE of lead {found.lead_id} ({found.model_before}); give a new model a higher "
                    "version (expected only when this rescore is run again)",
                    file=err,
                )
        if found.result is Result.WRITTEN:
            change = _change(found, model, now)
            changes.append(change)
            lower += change["score"] < change["score_before"]
            for t in change["rescored"]:
                moves[t["to"]] += 1
        shown.show(done, counts)
    shown.show(len(ordered), counts, final=True)
    left = sum(counts[r] for r in LEFT)
    summary = {
        "model_version": model.version,
        "dry_run": args.dry_run,
        "people": len(ordered),
        "written": counts[Result.WRITTEN],
        "unchanged": counts[Result.UNCHANGED],
        "skipped": {r.value: counts[r] for r in SKIPPED},
        "rescored_stages": dict(sorted(moves.items())),
        "lower_scores": lower,
        "versions_before": dict(sorted(versions.items())),
        "changes": changes,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print(summary, args.dry_run)
    if left:
        print(
            f"{left:,} leads were left (the archive behind their STATE, or other writers busy): run the "
            "same command again later to finish",
            file=err,
        )
    return 1 if left else 0


def _print(summary: dict[str, Any], dry_run: bool) -> None:
    verb = "would write" if dry_run else "wrote"
    print(f"Model version {summary['model_version']}: {summary['people']:,} people")
    print(f"  {verb} {summary['written']:,} leads; {summary['unchanged']:,} unchanged")
    skipped = ", ".join(f"{n:,} {why}" for why, n in summary["skipped"].items() if n)
    print(f"  skipped: {skipped or 'none'}")
    stages = ", ".join(f"{n:,} to {stage}" for stage, n in summary["rescored_stages"].items())
    print(f"  rescored stage changes (not notified): {stages or 'none'}")
    print(f"  scores lower than before (their stage stays): {summary['lower_scores']:,}")
    if dry_run and summary["changes"]:
        rows = [
            {
                **c,
                "stage": f"{c['stage_before']} -> {c['stage']}",
                "score": f"{c['score_before']} -> {c['score']}",
            }
            for c in summary["changes"][:CHANGES_SHOWN]
        ]
        output.table(rows, ["lead_id", "stage", "score"], sys.stdout)
        if len(summary["changes"]) > CHANGES_SHOWN:
            print(f"  … and {len(summary['changes']) - CHANGES_SHOWN:,} more (--json lists them all)")
