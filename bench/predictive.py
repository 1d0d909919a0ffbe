"""What the predictive likelihood costs ScoreFunction: time per scored lead, the artifact's load, the package.

    .venv/bin/python -m bench.predictive [--features 60] [--calls 20000]

An artifact with `--features` weights (a trained model's size: every scoring rule, fit rule, channel and
stage, and the activity counts) is written and loaded as ScoreFunction loads it at cold start (parsed and
validated, checked against the shipped scoring model). Per scored lead, ScoreFunction computes the lead's
features from its new score and evaluates the artifact (`LivePredictor`): timed here on a lead of a
realistic history (12 pages of 4 kinds over 3 weeks, a form, a work e-mail), in this process, median of
rounds. The likelihood rides in the STATE write the score makes anyway: no DynamoDB call is added. The
layer's runtime dependencies are listed: evaluating the artifact is plain Python, nothing is added.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from leadstream.predictive import model_file
from leadstream.predictive.features import features
from leadstream.predictive.live import LivePredictor
from leadstream.predictive.model import PredictiveModel, Weight
from leadstream.scoring.model_file import load_model
from leadstream.scoring.score import LeadScore, apply_events
from leadstream.tracking.attribution import Channel, Touch
from leadstream.tracking.events import BehaviourEvent, EventType

COMMAND = ".venv/bin/python -m bench.predictive"
LAYER = Path(__file__).resolve().parents[1] / "layers" / "common"


def artifact(names: list[str], size: int) -> PredictiveModel:
    names = (names + [f"extra:{i}" for i in range(size)])[:size]
    return PredictiveModel(
        version=1,
        label="reached opportunity or won within 90 days of becoming a lead",
        horizon_days=90,
        trained_at=datetime(2026, 11, 1, tzinfo=UTC),
        scoring_model=load_model().version,
        intercept=-2.0,
        weights=tuple(
            Weight(feature=n, label=f"Feature {i}", weight=0.1 * (i % 7 - 3), mean=0.3, scale=0.8)
            for i, n in enumerate(names)
        ),
        evaluation={"auc": 0.81},
    )


def lead() -> LeadScore:
    start = datetime.now(UTC) - timedelta(days=21)
    touch = Touch(channel=Channel.PAID_SEARCH, source="google", campaign="q4")
    paths = ["/", "/blog/a", "/pricing", "/docs/setup"]
    events = [
        BehaviourEvent(
            message_id=f"m{i}",
            type=EventType.PAGE,
            at=start + timedelta(days=i * 1.7),
            path=paths[i % 4],
            touch=touch,
        )
        for i in range(12)
    ]
    events.append(
        BehaviourEvent(
            message_id="f",
            type=EventType.FORM,
            at=start + timedelta(days=20),
            form_id="newsletter",
            fit_traits={"email_kind": "work", "title": "VP Marketing"},
        )
    )
    return apply_events(load_model(), LeadScore(lead_id="L1"), events)


def feature_names() -> list[str]:
    scoring = load_model()
    names = ["rules_score", "known", "events", "page_views", "sessions", "days_since_seen", "days_active"]
    names += [f"rule:{r.id}" for r in scoring.behaviour]
    names += [f"rule:{r.id}" for r in scoring.hand_raise]
    names += [f"rule:{r.id}" for r in scoring.pql]
    names += [f"fit:{r.id}" for r in scoring.fit]
    names += [f"channel:{c}" for c in Channel]
    return [*names, "stage:lead", "stage:MQL", "stage:SQL", "stage:PQL"]


def timed(run: int, rounds: int, call: object) -> float:
    """Seconds per call, the median of `rounds` rounds of `run` calls."""
    assert callable(call)
    per_call = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(run):
            call()
        per_call.append((time.perf_counter() - started) / run)
    return statistics.median(per_call)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.predictive", description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=60, help="weights in the artifact")
    parser.add_argument("--calls", type=int, default=20000, help="likelihoods computed per round")
    args = parser.parse_args(argv)

    scoring = load_model()
    model = artifact(feature_names(), args.features)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "likelihood.yaml"
        path.write_text(yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False))
        size = path.stat().st_size

        def load() -> None:
            model_file._read.cache_clear()
            model_file.load_predictive_model(path, scoring)

        load_s = timed(1, 15, load)

    predict = LivePredictor(scoring, model)
    score, now = lead(), datetime.now(UTC)
    values = features(scoring, score, now)
    rounds = 7
    features_s = timed(args.calls, rounds, lambda: features(scoring, score, now))
    likelihood_s = timed(args.calls, rounds, lambda: model.likelihood(values, top=3))
    both_s = timed(args.calls, rounds, lambda: predict(score, now))
    requirements = [
        line
        for line in (LAYER / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    code = sum(p.stat().st_size for p in (LAYER / "leadstream" / "predictive").glob("*.py"))

    rows = [
        ("artifact", f"{args.features} weights, {size} bytes of YAML"),
        ("artifact load at cold start (parse, validate, check)", f"{load_s * 1000:.2f} ms"),
        (f"a lead's features (its score has {len(values)} of them)", f"{features_s * 1e6:.1f} µs"),
        ("the likelihood and its top 3 drivers", f"{likelihood_s * 1e6:.1f} µs"),
        ("per scored lead, both (LivePredictor)", f"**{both_s * 1e6:.1f} µs**"),
        ("DynamoDB calls added per scored lead", "0 (in the STATE write the score makes)"),
        ("runtime dependencies added to the layer", f"none ({len(requirements)} as before)"),
        ("`leadstream/predictive/*.py` in the layer", f"{code} bytes of source"),
    ]
    print(f"Measured with `{COMMAND}` (Python {sys.version.split()[0]}, this machine):\n")
    print("| what | cost |")
    print("|---|---:|")
    for what, cost in rows:
        print(f"| {what} | {cost} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
