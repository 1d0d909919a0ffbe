"""python -m cli model train [--horizon DAYS] [--since DAY] [--out FILE] [--json]

Learns a predictive score from the archive (leadstream/predictive/training.py: the label, the snapshot,
the split by time) and writes it as a versioned YAML artifact for review: the version after the one at
--out, the weights largest first in the scoring model's words, how it did on the later period beside the
rules score. Refuses (exit 1) while the training period has fewer than 20 positive outcomes.
"""

import argparse
import importlib.util
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.archive.history import PersonHistory, histories
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.store import ArchiveStore
from leadstream.platform.documents import read_yaml
from leadstream.predictive import training
from leadstream.predictive.accounts import AccountFacts
from leadstream.predictive.model import PredictiveModel
from leadstream.scoring.model_file import load_model
from pydantic import ValidationError

from cli import options, output
from cli import target as targets

NAME = "train"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "models" / "predictive.yaml"  # for review; the functions ship what the template names
BEGINNING = date(2000, 1, 1)  # --since's default: the whole archive


def add_parser(actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    train = actions.add_parser(
        NAME,
        help="learn a predictive score from the archive's outcomes; writes a versioned YAML artifact",
        description="Learn a predictive score (the likelihood to reach opportunity or won) from the "
        "archive, judge it on the later period beside the rules score, write the artifact for review.",
    )
    train.add_argument(
        "--horizon",
        type=options.days(),
        default=training.DEFAULT_HORIZON_DAYS,
        metavar="DAYS",
        help="days after becoming a lead to reach opportunity or won "
        f"(default {training.DEFAULT_HORIZON_DAYS})",
    )
    train.add_argument(
        "--since", type=options.day, help="first archive day read, YYYY-MM-DD (default: all of it)"
    )
    train.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="the artifact written (default models/predictive.yaml); its version follows the one there",
    )
    train.add_argument("--json", action="store_true", help="the evaluation as JSON on stdout")


def _previous_version(path: Path) -> int:
    """The version of the artifact at `path` (0 when there is none). ValueError names what is wrong."""
    if not path.exists():
        return 0
    try:
        return PredictiveModel.model_validate(read_yaml(path)).version
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(
            f"{path} is not a predictive model ({type(exc).__name__}); move it away or choose another --out"
        ) from exc


def _people(target: targets.Target, since: date) -> tuple[dict[str, PersonHistory], datetime | None]:
    """Every person of the archive from `since`, and the latest moment the archive tells of."""
    reader = ArchiveReader(ArchiveStore(target.archive_bucket))
    records = list(output.progress(reader.records(since, datetime.now(UTC).date()), sys.stderr, "records"))
    end = datetime.fromtimestamp(max(r.at for r in records), UTC) if records else None
    return histories(records), end


def _accounts(target: targets.Target, people: dict[str, PersonHistory]) -> training.KnownAccounts:
    """The known people's account features, read as the live score reads them (their accounts as they are
    now: firmographics rarely change)."""
    ledger = AccountLedger(target.accounts_table, target.leads_table)
    facts = AccountFacts(ledger, AccountRepository(target.accounts_table), load_account_model())
    leads = sorted({lead for person in people.values() if person.known for lead in person.leads})
    print(f"reading the accounts of {len(leads):,} known people's leads…", file=sys.stderr)
    return training.KnownAccounts(facts.model, facts.of_leads(leads))


def document(model: PredictiveModel) -> str:
    """The artifact as YAML, in its fields' order (weights as `train` sorted them), with a header."""
    header = (
        f"# Leadstream predictive model {model.version}: the likelihood a lead {model.label}.\n"
        "# Written by `python -m cli model train`: review the weights and evaluation before you ship it.\n"
        "# A weight is per standard deviation of its feature (mean and scale as in training); a positive\n"
        "# one raises the likelihood. evaluation: how it ranked the later period's people, beside the rules\n"
        '# score at the same moments (docs/models.md, "The predictive score").\n'
    )
    body = yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=110)
    return header + body


def run(args: argparse.Namespace, target: targets.Target) -> int:
    if importlib.util.find_spec("sklearn") is None:
        print(
            "error: training needs scikit-learn, a development dependency: "
            ".venv/bin/pip install -r requirements-dev.txt (make does it)",
            file=sys.stderr,
        )
        return 2
    if not target.archive_bucket:
        print("error: this stack has no event archive (ArchiveBucket): deploy it first", file=sys.stderr)
        return 2
    try:
        version = _previous_version(args.out) + 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scoring = load_model()
    people, end = _people(target, args.since or BEGINNING)
    if end is None:
        print(
            "error: the archive holds nothing"
            + (f" since {args.since}" if args.since else "")
            + ": nothing to learn from (the simulator makes demo data: make run ARGS=--simulate)",
            file=sys.stderr,
        )
        return 1
    accounts = _accounts(target, people)
    print(f"replaying {len(people):,} people under scoring model {scoring.version}…", file=sys.stderr)
    try:
        trained = training.train(scoring, people.values(), args.horizon, end, version, accounts)
    except training.NotEnoughOutcomes as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(document(trained.artifact), encoding="utf-8")
    result = {**trained.as_dict(), "out": str(args.out)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print(result)
    return 0


def _print(result: dict[str, Any]) -> None:
    print(f"Predictive model {result['version']} written to {result['out']}: {result['label']}.")
    train, evaluate = result["train"], result["evaluate"]
    print(
        f"{result['known_people']} known people; {result['left_out_inside_horizon']} left out (still inside "
        f"the {result['horizon_days']}-day horizon with nothing decided)."
    )
    print(
        f"Trained on {train['examples']} ({train['positives']} reached opportunity or won), known "
        f"{_day_of(train['known_from'])} to {_day_of(train['known_until'])}; evaluated on the "
        f"{evaluate['examples']} known later ({evaluate['positives']} positive)."
    )
    rows = [
        {"score": "predictive", **_metrics(result["model"])},
        {"score": "rules", **_metrics(result["rules_score"])},
    ]
    output.table(rows, ["score", "auc", "top_decile_lift"], sys.stdout)
    print("Calibration of the predictive likelihood on the later period (predicted vs observed):")
    output.table(
        [
            {
                "likelihood": f"{b['low']:.0%}-{b['high']:.0%}",
                "people": b["count"],
                "predicted": f"{b['predicted']:.0%}",
                "observed": f"{b['observed']:.0%}",
            }
            for b in result["model"]["calibration"]
        ],
        ["likelihood", "people", "predicted", "observed"],
        sys.stdout,
    )
    print(f"{result['weights']} of {result['features_seen']} features kept a weight.")


def _metrics(scores: dict[str, Any]) -> dict[str, str]:
    return {
        "auc": "-" if scores["auc"] is None else f"{scores['auc']:.3f}",
        "top_decile_lift": "-" if scores["top_decile_lift"] is None else f"{scores['top_decile_lift']:.2f}x",
    }


def _day_of(text: str | None) -> str:
    return text[:10] if text else "-"
