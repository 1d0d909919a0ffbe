"""How long training the predictive score takes as the archive grows: people replayed and fitted.

    .venv/bin/python -m bench.train [--people 1000 10000]

Made-up people in the shipped scoring model's terms (no stack, no archive: reading the archive is timed by
the command itself, see docs/performance.md): each identifies, views 0 to 20 pages over a few weeks (blog,
pricing, docs), some open e-mails, a third of the likelier ones reach an opportunity 20 days in. Timed
apart: `training.examples` (each person's events replayed to their snapshot under the scoring model, and
their features) and `training.fit` (the standardised logistic regression, scikit-learn).
"""

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from leadstream.archive.history import PersonHistory, StageChange
from leadstream.predictive import training
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model
from leadstream.tracking.events import BehaviourEvent, EventType

START = datetime(2026, 1, 1, tzinfo=UTC)
PATHS = ("/blog/a", "/blog/b", "/pricing", "/docs/getting-started", "/", "/careers")


def people(count: int, seed: int = 1) -> list[PersonHistory]:
    rng = random.Random(seed)
    found = []
    for i in range(count):
        lead = f"lead-{i:07d}"
        known = START + timedelta(minutes=i * 5)
        propensity = rng.random()
        events = [
            BehaviourEvent(
                f"{lead}-id", EventType.IDENTIFY, known, fit_traits={"email_kind": "work", "title": "VP"}
            )
        ]
        for n in range(int(rng.random() * 20 * propensity) + 1):
            at = known + timedelta(hours=rng.uniform(-48, 24 * 21))
            kind = EventType.EMAIL_OPEN if rng.random() < 0.1 else EventType.PAGE
            events.append(BehaviourEvent(f"{lead}-{n}", kind, at, path=rng.choice(PATHS)))
        events.sort(key=lambda e: (e.at, e.message_id))
        changes = []
        if rng.random() < propensity / 3:
            changes.append(
                StageChange(lead, Stage.SQL, Stage.OPPORTUNITY, known + timedelta(days=20), by="s@x")
            )
        found.append(PersonHistory(lead, {lead}, events, changes))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args(argv)
    model = load_model()
    started = time.perf_counter()
    warm = people(200)
    training.fit(training.examples(model, warm, timedelta(days=90), START + timedelta(days=400)).examples)
    print(f"importing scikit-learn and a first fit: {time.perf_counter() - started:.1f} s\n")
    print("| people | events | examples | replay + features | fit | per person |")
    print("|---:|---:|---:|---:|---:|---:|")
    for count in args.people:
        histories = people(count)
        end = max(e.at for p in histories for e in p.events) + timedelta(days=91)
        started = time.perf_counter()
        found = training.examples(model, histories, timedelta(days=90), end)
        replayed = time.perf_counter() - started
        started = time.perf_counter()
        training.fit(found.examples)
        fitted = time.perf_counter() - started
        events = sum(len(p.events) for p in histories)
        per = (replayed + fitted) / count * 1000
        timed = f"{replayed:.1f} s | {fitted:.1f} s | {per:.2f} ms"
        print(f"| {count:,} | {events:,} | {len(found.examples):,} | {timed} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
