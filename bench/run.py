"""`make bench`: cold-start and DynamoDB write figures, as Markdown on stdout and in docs/performance.md.

    .venv/bin/python -m bench.run [--runs N] [--output PATH]

Progress goes to stderr; stdout carries only the report.
"""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import coldstart, snippet, writes
from bench.coldstart import ColdStart
from bench.writes import Scenario, WriteResult
from local.template import REPO, load_stack

COMMAND = "make bench"  # runs `.venv/bin/python -m bench.run`
REGION = "eu-west-1"
STACK = "leadstream-bench"
TARGET_UNITS_PER_VIEW = 2
# Enough for every function's settings to validate; fake credentials, so nothing can reach AWS.
ENV_OVERRIDES = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
# The same 500 page views, scored two ways. ScoreFunction's BatchSize is 100.
SCENARIOS = [
    Scenario("one view per lead per batch", visitors=100, views_per_visitor=5, drain_every_round=True),
    Scenario("5 views per lead per batch", visitors=20, views_per_visitor=25, drain_every_round=False),
]


def _progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _intro(runs: int) -> list[str]:
    cpu = _cpu_model()
    cpus = os.process_cpu_count() or os.cpu_count()
    libs = ", ".join(f"{p} {version(p)}" for p in ("boto3", "pynamodb", "aws-lambda-powertools", "moto"))
    return [
        "# Performance",
        "",
        f"Produced by `{COMMAND}` (`.venv/bin/python -m bench.run --runs {runs}`) on "
        f"{datetime.now(UTC):%Y-%m-%d}, on Python {platform.python_version()} (`python --version`), "
        f"{platform.machine()} (`uname -m`), {cpus} CPUs (`nproc`)" + (f", {cpu}" if cpu else "") + f"; "
        f"{libs}. Run the same command to refresh every figure below. Deployed functions run on arm64 at "
        "512 MB, where absolute times differ: compare the ratios to the boto3 floor. Write counts do not "
        "depend on the machine.",
    ]


def _cold_start_section(results: list[ColdStart], runs: int) -> list[str]:
    floor = next(r for r in results if r.name == coldstart.FLOOR)
    lines = [
        "",
        "## Cold-start initialisation",
        "",
        "Each function's handler module (`import app`: settings, clients, models, Powertools) timed with "
        "`time.perf_counter` inside a fresh `python -I` interpreter started with the function's template "
        f"environment: {runs} samples each after one unmeasured warm-up (bytecode compiled, files cached), "
        "round-robin with the floor. The floor is a fresh interpreter that imports boto3 and creates one "
        "DynamoDB client, timed the same way: the least a function that talks to DynamoDB can cost. The "
        "reference row adds the X-Ray SDK, which Powertools' Tracer imports even when tracing is disabled. "
        "Spawn to ready adds interpreter start-up to the import. AWS clients are those alive once the "
        "import is done (PynamoDB makes its DynamoDB client on the first request, not at import). "
        "Tracing and metrics are disabled (`POWERTOOLS_TRACE_DISABLED`, `POWERTOOLS_METRICS_DISABLED`); "
        "nothing connects to AWS.",
        "",
        "| Function | import, median (ms) | import, min (ms) | median / floor | modules loaded "
        "| AWS clients alive | spawn to ready, median (ms) |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.median:.1f} | {r.best:.1f} | {r.median / floor.median:.2f} | {r.modules} "
            f"| {r.clients_summary} | {r.ready_median:.0f} |"
        )
    return lines


def _writes_section(results: list[WriteResult]) -> list[str]:
    lines = [
        "",
        "## DynamoDB writes per tracked page view",
        "",
        "Page views (Segment `page` calls) sent as API Gateway HTTP API events through TrackFunction; the "
        "leads table stream read from TRIM_HORIZON and delivered to ScoreFunction with the template's "
        "FilterCriteria and BatchSize; all in one process against moto. Writes are counted at the "
        "data-access layer (`leadstream.store.WRITES`): one request per write, one unit per started KB "
        "of item, doubled in transactions; conditional writes that fail are counted too, as DynamoDB "
        "bills them. Reads are not counted.",
        "",
        "| Case | page views | visitors | views per lead per Score batch | Score invocations "
        "| write requests / view | write units / view |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.scenario
        lines.append(
            f"| {s.name} | {s.page_views} | {s.visitors} | {r.views_per_lead_batch:.1f} "
            f"| {r.score_invocations} | {r.per_view(r.requests):.2f} | **{r.per_view(r.units):.2f}** |"
        )
    kinds = sorted({k for r in results for k in r.units_by_item})
    lines += [
        "",
        "Write units per page view, by item (`WRITES.by_item`):",
        "",
        "| Item | " + " | ".join(r.scenario.name for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for kind in kinds:
        cells = " | ".join(f"{r.per_view(r.units_by_item.get(kind, 0)):.2f}" for r in results)
        lines.append(f"| {kind} | {cells} |")

    sizes: dict[str, list[int]] = {}
    for r in results:
        for kind, found in r.sizes.items():
            sizes.setdefault(kind, []).extend(found)
    lines += [
        "",
        "Size of every item written to the leads table (from the stream's new images, as DynamoDB bills "
        "them), both cases together:",
        "",
        "| Item | writes | median (bytes) | max (bytes) | units per write at max |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in sorted(sizes):
        median, largest = writes.size_summary(sizes[kind])
        lines.append(
            f"| {kind} | {len(sizes[kind])} | {median} | {largest} | {max(1, -(-largest // 1024))} |"
        )

    over = [r for r in results if r.per_view(r.units) > TARGET_UNITS_PER_VIEW]
    figures = ", ".join(f"{r.per_view(r.units):.2f}" for r in results)
    verdict = (
        f"met in every case ({figures} write units per page view)."
        if not over
        else "**not met** in: " + ", ".join(f"{r.scenario.name} ({r.per_view(r.units):.2f})" for r in over)
    )
    changes: dict[str, int] = {}
    for r in results:
        for stage, n in r.stage_changes.items():
            changes[stage] = changes.get(stage, 0) + n
    to_stages = ", ".join(f"{n} to {stage}" for stage, n in sorted(changes.items())) or "none"
    lines += [
        "",
        f"Target (at most {TARGET_UNITS_PER_VIEW} write units per page view, end to end): {verdict}",
        "",
        f"Stage changes during the runs: {to_stages}. Each wakes PublishFunction, whose Powertools "
        "idempotency records in IdempotencyTable are written per stage change (not per page view), outside "
        "the data-access layer, and are not counted here.",
    ]
    return lines


def _batch_section(result: writes.BatchResult) -> list[str]:
    return [
        "",
        "## Batch path: messages per DynamoDB write request",
        "",
        f"{result.messages} page views sent to `POST /v1/batch` in batches of {result.batch_size} "
        "(as analytics.js and lb.js batch them), counted at the data-access layer. Events go to DynamoDB "
        "25 to a `BatchWriteItem` request (its maximum), not one request per message.",
        "",
        "| messages | write requests | messages per write request | write units |",
        "|---:|---:|---:|---:|",
        f"| {result.messages} | {result.write_requests} | **{result.messages_per_request:.1f}** | "
        f"{result.write_units} |",
    ]


def _snippet_section() -> list[str]:
    return [
        "",
        "## The lb.js snippet",
        "",
        "| file | bytes | gzipped bytes | limit |",
        "|---|---:|---:|---:|",
        f"| `lb.min.js` (served at `/v1/lb.js`) | {len(snippet.minified_source().encode())} | "
        f"**{snippet.gzipped_size()}** | 5120 |",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per function (default 7)")
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "performance.md",
        help="where to write the report (default docs/performance.md)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs < 1:
        print("--runs must be at least 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    stack = load_stack(STACK, REGION, {"StageName": "bench"}, ENV_OVERRIDES)

    targets = coldstart.targets(stack, REGION, ENV_OVERRIDES)
    cold = coldstart.measure(targets, args.runs, _progress)
    written = writes.measure(stack, ENV_OVERRIDES, SCENARIOS, _progress)
    batched = writes.measure_batch(stack, ENV_OVERRIDES, _progress)

    report = "\n".join(
        [
            *_intro(args.runs),
            *_cold_start_section(cold, args.runs),
            *_writes_section(written),
            *_batch_section(batched),
            *_snippet_section(),
        ]
    )
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    _progress(f"wrote {args.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
