"""`make bench`: cold starts, costs and ScoreFunction's batch time, written to docs/performance.md.

    .venv/bin/python -m bench.run [--runs N] [--output PATH]

Everything runs against one moto server started here; each function runs in Lambda-like processes of its
own (bench.lambdaenv). Progress goes to stderr; stdout gets the cold-start table and the verdicts.
"""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import accounts, coldstart, costs, snippet, webapp
from bench.coldstart import Attribution, ColdStart
from bench.costs import BUSY, QUIET, Results
from bench.lambdaenv import XRAY_DAEMON, LocalAws
from local.template import REPO

COMMAND = "make bench"  # runs `.venv/bin/python -m bench.run`
TARGET_UNITS_PER_VIEW = 2
TARGET_WAITING_SECONDS = 0.3
BUSY_VIEWS_PER_SECOND = 100.0


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


def _intro(runs: int, seconds: float) -> list[str]:
    cpu = _cpu_model()
    cpus = os.process_cpu_count() or os.cpu_count()
    libs = ", ".join(
        f"{p} {version(p)}" for p in ("boto3", "pynamodb", "aws-lambda-powertools", "aws-xray-sdk", "moto")
    )
    return [
        "# Performance",
        "",
        f"Produced by `{COMMAND}` (`.venv/bin/python -m bench.run --runs {runs}`, {seconds:.0f} s) on "
        f"{datetime.now(UTC):%Y-%m-%d}, on Python {platform.python_version()}, {platform.machine()}, "
        f"{cpus} CPUs" + (f" ({cpu})" if cpu else "") + f"; {libs}. Run the same command to refresh every "
        "figure below. Deployed functions run on arm64 at 512 MB against DynamoDB, where absolute times "
        "differ: compare cold starts as ratios to the floor. Request and unit counts do not depend on the "
        "machine.",
        "",
        "Every function runs as in Lambda: a `python -I` process of its own, started with its template "
        "environment and Lambda's variables (`LAMBDA_TASK_ROOT`, `AWS_EXECUTION_ENV`, "
        "`AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, `AWS_XRAY_DAEMON_ADDRESS` "
        f"({XRAY_DAEMON}, UDP, nothing listens), `_X_AMZN_TRACE_ID` per invocation), tracing and metrics "
        "on as deployed (`Tracing: Active`, Powertools' EMF metrics), logging at the template's default "
        "level, and `AWS_ENDPOINT_URL` pointing at moto in server mode, with the template's tables, bus, "
        "queues and topic and the demo source. Handlers are imported from each function's `CodeUri`, the "
        "layer on `sys.path`; the bench imports nothing of the `leadstream` package.",
    ]


# --- cold start ---------------------------------------------------------------------------------------


def cold_start_table(results: list[ColdStart]) -> list[str]:
    floor = next(r for r in results if r.name == coldstart.FLOOR)
    lines = [
        "| Function | init, median (ms) | first request, median (ms) | init + first request, median (ms) "
        f"| / floor | ≤ {coldstart.TARGET_RATIO:.2f} x floor | modules loaded | AWS clients alive after "
        "the first request | spawn to first answer, median (ms) |",
        "|---|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for r in results:
        ratio = r.total / floor.total
        if r.name == coldstart.FLOOR:
            verdict = "floor"
        elif r.reference:
            verdict = "reference"
        else:
            verdict = "met" if ratio <= coldstart.TARGET_RATIO else "**not met**"
        lines.append(
            f"| {r.name} | {r.init:.1f} | {r.first:.1f} | **{r.total:.1f}** | {ratio:.2f} | {verdict} "
            f"| {r.modules} | {r.clients_summary} | {r.spawn:.0f} |"
        )
    return lines


def cold_start_verdict(results: list[ColdStart]) -> str:
    floor = next(r for r in results if r.name == coldstart.FLOOR)
    functions = [r for r in results if r.name != coldstart.FLOOR and not r.reference]
    over = [r for r in functions if r.total / floor.total > coldstart.TARGET_RATIO]
    target = f"Target (init + first request ≤ {coldstart.TARGET_RATIO:.2f} x the floor, every function): "
    if not over:
        return target + "met by every function."
    missed = ", ".join(f"{r.name} ({r.total / floor.total:.2f}x)" for r in over)
    text = f"{target}**not met** by {missed}."
    stack = next((r for r in results if r.name == coldstart.STACK), None)
    if stack is not None:
        text += (
            f" The stack every function stands on costs {stack.total / floor.total:.2f}x the floor by itself "
            "(the second reference row), before any code of ours; over that, each function adds "
            + ", ".join(f"{r.name} {(r.total - stack.total) / floor.total:+.2f}x" for r in functions)
            + " (its own libraries, such as Powertools' event handler or idempotency, its models, and "
            "what it loads for its first request: see below)."
        )
    return text


def _cold_start_section(results: list[ColdStart], runs: int) -> list[str]:
    return [
        "",
        "## Cold start, first request included",
        "",
        "Each sample is a fresh `python -I` interpreter in the function's Lambda-like environment (above), "
        "timed inside with `time.perf_counter`: **init** is the import of the handler module (settings, "
        "clients, models, Powertools, the X-Ray SDK patching botocore), **first request** the first call of "
        "the handler with the function's sample event from `events/` (made new each time: a fresh "
        "messageId, later stream sequence numbers, a new bus event id; the IdempotencyTable is emptied "
        "before each sample, so that Publish and NotifySales deliver for the first time) against moto. "
        "The **floor** is a fresh interpreter that imports boto3 and creates one DynamoDB client (init), "
        "then makes one GetItem on the leads table (first request): the least any function that talks to "
        "DynamoDB pays. The first reference row adds Powertools' Tracer (X-Ray SDK, botocore patched) to the "
        "floor, the handler wrapped in `capture_lambda_handler`: what the `TraceAwsCalls` parameter costs. "
        "The second is the stack every function stands on before any code of ours (Powertools' Logger and "
        "Metrics around the handler, pydantic with one model, a PynamoDB model read with GetItem): the "
        "least a function of this stack pays, against which our own code is measured. A first request "
        "that fails (an exception, a status other than 2xx, failed batch records) stops the bench. "
        f"{runs} samples each after one unmeasured warm-up per target (bytecode compiled, files cached, "
        "moto seeded), round-robin with the floor. AWS clients: the botocore clients alive after the first "
        "request (`gc` census). Spawn to first answer adds interpreter start-up.",
        "",
        *cold_start_table(results),
        "",
        cold_start_verdict(results),
    ]


def _ms(micros: int) -> str:
    return f"{micros / 1000:.0f}"


def _attribution_section(found: list[Attribution]) -> list[str]:
    lines = [
        "",
        "### Where init and the first request go",
        "",
        "One more fresh interpreter per function under `python -X importtime` (which slows imports down "
        "a little: read the figures as shares). Init: what the handler module imports, each with "
        "everything it pulls in (cumulative ms), and the handler module's own top-level code (clients, "
        "models). First request: each AWS call with its time on the wire (hooks attached after init), "
        "modules first imported during it, and a cProfile of the request (which slows it down too): the "
        "botocore clients it creates (each loads its service model) and the calls from the project's "
        "code (`CodeUri`, the layer's package) into other code, with their cumulative time. Heaviest "
        "packages: own import time of every module of a top-level package, init and first request, with "
        "the chain that first imported it.",
        "",
        "| Function | init: imports of the handler module (ms) | handler module's own code (ms) "
        "| first request: AWS calls (ms on the wire) | first request, profiled (ms) "
        "| first request: imports (ms) |",
        "|---|---|---:|---|---|---|",
    ]
    for a in found:
        imports = "; ".join(f"{i.name} {_ms(i.cumulative_us)}" for i in a.init_imports[:6]) or "—"
        calls = "; ".join(f"{s}.{op} {sec * 1000:.0f}" for s, op, sec in a.calls) or "—"
        lazy = "; ".join(f"{i.name} {_ms(i.cumulative_us)}" for i in a.first_imports[:5]) or "none"
        own = _ms(a.handler_self_us) if a.handler_self_us is not None else "—"
        profiled = "—"
        if a.profile:
            crossings = [f"{label} x{n} {ms:.0f}" for label, ms, n in a.profile["boundary"] if ms >= 1]
            profiled = "; ".join(
                [
                    f"botocore clients created: {a.profile['clients']} ({a.profile['clients_ms']:.0f})",
                    *crossings[:5],
                ]
            )
        lines.append(f"| {a.name} | {imports} | {own} | {calls} | {profiled} | {lazy} |")
    lines += [
        "",
        "| Function | heaviest packages, own import time (ms), first imported by |",
        "|---|---|",
    ]
    for a in found:
        cells = "; ".join(
            f"{pkg} {_ms(us)}" + (f" ({a.chains[pkg]})" if a.chains.get(pkg) else "")
            for pkg, us in a.packages[:8]
        )
        lines.append(f"| {a.name} | {cells} |")
    return lines


# --- requests, units and costs --------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _scenarios_section(results: Results) -> list[str]:
    scenarios = results.scenarios
    header = "| | " + " | ".join(f"{s.name} (per {s.unit})" for s in scenarios) + " |"
    rule = "|---|" + "---:|" * len(scenarios)
    functions = list(dict.fromkeys(f for s in scenarios for f in s.functions()))

    def row(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    lines = [
        "",
        "## DynamoDB, EventBridge and Lambda per page view, identify and form-to-SQL journey",
        "",
        "All measured side by side in one run, counted from the AWS calls actually made: botocore event "
        "hooks in every function's process record each request (`bench/awscalls.py`); nothing is read from "
        "a meter in the functions' code. Write units: 1 per started KB of the larger of the item before "
        "and after the write (read back with a separate client), per item of a batch, at least 1 for a "
        "conditional write that fails, x2 in transactions. Read units: per item, 1 per started 4 KB "
        "strongly consistent, ½ eventually consistent, the minimum for an item that is not there. "
        "Powertools' idempotency records (IdempotencyTable) and the sources table are counted like the "
        "rest. Stream records reach each subscribed function through its template FilterCriteria and "
        "BatchSize; events put on the bus reach the functions whose rule matches, in EventBridge's "
        "envelope. Page views are Segment `page` calls from anonymous visitors: "
        f"*{QUIET}* delivers the stream after every page view (a quiet site: one record per Score batch), "
        f"*{BUSY}* after every round of one view from each of 100 visitors (full batches of 100 leads), "
        "*5 views per lead per batch* 20 visitors x 25 views, delivered at the end. *identify*: visitors "
        "who have read two pages (not counted) identify with a work e-mail and a senior title. *form to "
        "SQL*: visitors read "
        + ", ".join(f"`{p}`" for p in costs.JOURNEY)
        + ", then request a demo with a work e-mail; each becomes an SQL and sales is notified (SNS): "
        "everything is counted, page views included.",
        "",
        header,
        rule,
        row("units measured", [str(s.count) for s in scenarios]),
        row("DynamoDB write requests", [_fmt(s.per(s.write_requests)) for s in scenarios]),
        row("DynamoDB write units", [f"**{_fmt(s.per(s.write_units))}**" for s in scenarios]),
        row("DynamoDB read requests", [_fmt(s.per(s.read_requests)) for s in scenarios]),
        row("DynamoDB read units", [f"**{_fmt(s.per(s.read_units))}**" for s in scenarios]),
        row("EventBridge PutEvents entries", [_fmt(s.per(len(s.bus_entries))) for s in scenarios]),
    ]
    others = sorted({k for s in scenarios for k in s.other_calls() if k != "events.PutEvents"})
    for other in others:
        lines.append(row(f"{other} calls", [_fmt(s.per(s.other_calls().get(other, 0))) for s in scenarios]))
    for function in functions:
        lines.append(
            row(f"{function} invocations", [_fmt(s.per(len(s.invocations_of(function)))) for s in scenarios])
        )
    lines.append(row("log bytes (Powertools logs, EMF)", [_fmt(s.per(s.log_bytes)) for s in scenarios]))
    lines.append(
        row(
            "stage changes (all units)",
            [
                ", ".join(f"{n} to {st}" for st, n in sorted(s.stage_changes.items())) or "none"
                for s in scenarios
            ],
        )
    )

    kinds = sorted({k for s in scenarios for k in s.by_item()})
    lines += [
        "",
        "By table and item kind (key prefixes; idempotency records by the function they guard): write "
        "units / read units per unit, and in brackets items written / items read.",
        "",
        "| Table | Item | " + " | ".join(s.name for s in scenarios) + " |",
        "|---|---|" + "---:|" * len(scenarios),
    ]
    for table, kind in kinds:
        cells = []
        for s in scenarios:
            found = s.by_item().get((table, kind))
            if not found:
                cells.append("—")
                continue
            written, wu, read, ru = (s.per(v) for v in found)
            cells.append(f"{_fmt(wu)} / {_fmt(ru)} ({_fmt(written)} / {_fmt(read)})")
        lines.append(f"| {table} | `{kind}` | " + " | ".join(cells) + " |")

    lines += [
        "",
        "Warm Lambda durations (handler wall time, median ms, less the bench's own item-size look-ups; "
        "each function's first, cold invocation is left out), with stream records per batch:",
        "",
        "| Function | " + " | ".join(s.name for s in scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for function in functions:
        cells = []
        for s in scenarios:
            if not s.invocations_of(function):
                cells.append("—")
                continue
            batch = s.records_per_batch(function)
            cells.append(f"{s.median_ms(function):.0f}" + (f" ({batch:.0f} rec.)" if batch else ""))
        lines.append(f"| {function} | " + " | ".join(cells) + " |")

    views = [s for s in scenarios if s.unit == "page view"]
    over = [s for s in views if s.per(s.write_units) > TARGET_UNITS_PER_VIEW]
    figures = ", ".join(f"{s.per(s.write_units):.2f}" for s in views)
    lines += [
        "",
        f"Write units per page view, end to end (target at most {TARGET_UNITS_PER_VIEW}): "
        + (
            f"met in every case ({figures})."
            if not over
            else "**not met** in " + ", ".join(f"{s.name} ({s.per(s.write_units):.2f})" for s in over) + "."
        ),
    ]
    return lines


def _price(price: float) -> str:
    if price == 0:
        return "0 (free)"
    if price < 0.01:
        return f"{price:.10f}".rstrip("0")
    text = f"{price:.3f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{price:.2f}"


def _cost_section(results: Results) -> list[str]:
    by_name = {s.name: s for s in results.scenarios}
    quiet_rate = 1e6 / costs.SECONDS_A_MONTH
    cases = [
        (by_name[QUIET], quiet_rate, "1M views over 30 days"),
        (by_name[BUSY], BUSY_VIEWS_PER_SECOND, f"{BUSY_VIEWS_PER_SECOND:.0f} views a second"),
    ]
    priced = [(s, costs.cost_lines(results, s, rate), label) for s, rate, label in cases]
    memory = sorted(set(results.memory_mb.values()))
    lines = [
        "",
        "## Cost per 1M page views",
        "",
        "List prices as of 2025, region us-east-1, on-demand, without free tiers:",
        "",
        "| Item | Price |",
        "|---|---:|",
        *[
            f"| {name}, {unit} | {'' if price == 0 else '$'}{_price(price)} |"
            for name, unit, price in costs.PRICES
        ],
        "",
        "What a page view costs end to end, from the counts above: the HTTP API request, TrackFunction, "
        "ScoreFunction amortised over the page views of its batches (and Publish when a stage changes), "
        "DynamoDB units, bus events, X-Ray traces, log ingestion. Two cases:",
        "",
        f"* **1M page views spread evenly over a 30-day month** ({quiet_rate:.2f} a second, Poisson "
        f"arrivals): *{QUIET}*. A 1 s batching window at that rate holds 1.4 records on average; counting "
        "one is the upper bound on Score's share.",
        f"* **At {BUSY_VIEWS_PER_SECOND:.0f} page views a second**: *{BUSY}*, full batches of 100 records.",
        "",
        f"Lambda duration: arm64 at the template's MemorySize ({', '.join(f'{m} MB' for m in memory)}), "
        "the warm durations measured here against moto (each invocation rounded up to the ms; moto answers "
        "a request in a few ms, about what DynamoDB takes in-region), cold starts not included (their init "
        "is billed since August 2025, but at these rates an instance serves many requests). X-Ray: "
        "Lambda's default sampling rule for each function's invocations (the first each second, then "
        f"{costs.XRAY_RATE:.0%} of the rest), one trace per sampled invocation; a function invoked "
        "through an EventBridge rule continues the publisher's trace. CloudWatch Logs: the bytes the "
        "functions printed (Powertools logs at the template's level, EMF metrics); Lambda's own "
        "START/END/REPORT lines are not included.",
        "",
        "| Line | "
        + " | ".join(f"{label}: per view | {label}: $ per 1M views" for _, _, label in priced)
        + " |",
        "|---|" + "---:|---:|" * len(priced),
    ]
    labels = list(dict.fromkeys(line.label for _, found, _ in priced for line in found))
    for label in labels:
        cells = []
        for _, found, _ in priced:
            line = next((x for x in found if x.label == label), None)
            cells += (
                [f"{_fmt(line.quantity)} {line.measure}", f"{line.dollars_per_million:.3f}"]
                if line
                else ["—", "—"]
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    totals = [sum(x.dollars_per_million for x in found) for _, found, _ in priced]
    lines.append("| **Total** | " + " | ".join(f" | **${t:.2f}**" for t in totals) + " |")

    extra = []
    for s in results.scenarios:
        if s.unit in ("identify", "journey"):
            total = sum(
                x.dollars_per_million for x in costs.cost_lines(results, s, 1e6 / costs.SECONDS_A_MONTH)
            )
            extra.append(f"*{s.name}* ${total:.2f} per million (${total / 1e6:.6f} per {s.unit})")
    if extra:
        lines += [
            "",
            "Counted the same way, all lines, 1M of them spread over a month: " + "; ".join(extra) + ".",
        ]
    return lines


def _score_section(results: Results) -> list[str]:
    lines = [
        "",
        "## ScoreFunction: a 100-lead stream batch",
        "",
        "One stream batch of 100 records, one page view each of 100 different leads (stored by "
        "TrackFunction, read from the stream), handed to ScoreFunction's warm process in one invocation. "
        "A fixed latency is slept at the start of every DynamoDB request (a botocore `before-send` hook): "
        "10 ms, a typical in-region round trip. **DynamoDB waiting** is wall-clock time with at least one "
        "DynamoDB request in flight, over all threads, from `before-send` to the response: *measured* "
        "(the 10 ms plus the answering side's own time) and counting the *10 ms round trips* alone. "
        "The first row is the verdict: the requests are answered right after their 10 ms by a stand-in "
        "in the function's process (the same hook answers as DynamoDB does for new leads: nothing found, "
        "every conditional write passes), so they are served concurrently, as DynamoDB serves them. The "
        "moto rows go through moto in server mode, which answers one request at a time (its server "
        "shares one GIL), a few ms each (the 0 ms row is moto alone): requests sent in parallel queue "
        "behind it. The last column is the floor the pattern of requests allows: the handler thread's "
        "round trips, then those of the busiest other thread.",
        "",
        "| answered by | latency per request | records / leads | handler wall time (s) | DynamoDB requests "
        "| requests by thread | DynamoDB waiting, measured (s) | DynamoDB waiting, 10 ms round trips (s) "
        "| round trips in sequence, at least |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for b in results.score:
        calls = ", ".join(f"{op} {n}" for op, n in sorted(b.dynamodb_calls.items()))
        threads = f"handler {b.handler_thread}"
        if b.other_threads:
            threads += f", {len(b.other_threads)} other threads (at most {b.other_threads[0]} each)"
        trips = f"**{b.round_trip_seconds:.3f}**" if b.latency_ms else "—"
        floor = (
            f"{b.sequential_round_trips} ({b.sequential_round_trips * b.latency_ms / 1000:.3f} s)"
            if b.latency_ms
            else "—"
        )
        by = "concurrent stand-in" if b.stand_in else "moto"
        lines.append(
            f"| {by} | {b.latency_ms:.0f} ms | {b.records} / {b.leads} | {b.wall_seconds:.3f} | {calls} "
            f"({b.tries} tries) | {threads} | {b.waiting_seconds:.3f} | {trips} | {floor} |"
        )
    lines += ["", score_verdict(results)]
    return lines


def score_verdict(results: Results) -> str:
    primary = next((b for b in results.score if b.stand_in and b.latency_ms > 0), None)
    moto = next((b for b in results.score if not b.stand_in and b.latency_ms > 0), None)
    target = (
        f"Target (a 100-lead batch at ≤ {TARGET_WAITING_SECONDS} s of DynamoDB waiting at 10 ms a request): "
    )
    if primary is None:
        return target + "not measured."
    met = primary.waiting_seconds <= TARGET_WAITING_SECONDS
    text = (
        f"{'met' if met else '**not met**'}: {primary.waiting_seconds:.3f} s of DynamoDB waiting and "
        f"{primary.wall_seconds:.3f} s in all for the batch, against a DynamoDB that answers concurrently"
    )
    if moto is not None:
        text += f" ({moto.waiting_seconds:.3f} s through moto, which answers one request at a time)"
    return target + text + "."


def _batch_section(batch: costs.BatchPath) -> list[str]:
    ops = ", ".join(f"{op} {n}" for op, n in sorted(batch.operations.items()))
    return [
        "",
        "## Batch path: messages per DynamoDB write request",
        "",
        f"{batch.messages} page views sent to `POST /v1/batch` in batches of {batch.batch_size} (as "
        "analytics.js and lb.js batch them), TrackFunction's DynamoDB write requests counted by the hooks "
        f"({ops}). `BatchWriteItem` takes at most 25 items.",
        "",
        "| messages | write requests | messages per write request | write units |",
        "|---:|---:|---:|---:|",
        f"| {batch.messages} | {batch.write_requests} | **{batch.messages_per_request:.1f}** | "
        f"{_fmt(batch.write_units)} |",
    ]


def _snippet_section() -> list[str]:
    return [
        "",
        "## The lb.js snippet",
        "",
        "| file | bytes | gzipped bytes | limit |",
        "|---|---:|---:|---:|",
        f"| `lb.min.js` (served at `/v1/lb.js`) | {len(snippet.minified_source().encode())} | "
        f"**{snippet.gzipped_size()}** | {snippet.BUDGET_BYTES} |",
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="cold-start samples per function (default 7)")
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
    local = LocalAws()
    try:
        _progress(f"local AWS (moto server) on {local.endpoint}")
        local.fresh()
        cold = coldstart.measure(local, args.runs, _progress)
        _progress("cold start: attribution (python -X importtime)")
        attribution = coldstart.attribute(local)
        results = costs.measure(local, _progress)
    finally:
        local.stop()
    account_rows = accounts.measure_apart()  # its own process: this one's clients point at the AWS above
    elapsed = time.perf_counter() - started
    report = "\n".join(
        [
            *_intro(args.runs, elapsed),
            *_cold_start_section(cold, args.runs),
            *_attribution_section(attribution),
            *_scenarios_section(results),
            *_cost_section(results),
            *_score_section(results),
            *_batch_section(results.batch),
            *accounts.section(account_rows),
            *_snippet_section(),
            *webapp.section(),
        ]
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    print("Cold start, first request included (init + first request, Lambda-like environment):\n")
    print("\n".join(cold_start_table(cold)))
    print("\n" + cold_start_verdict(cold))
    print(score_verdict(results))
    quiet = next(s for s in results.scenarios if s.name == QUIET)
    total = sum(x.dollars_per_million for x in costs.cost_lines(results, quiet, 1e6 / costs.SECONDS_A_MONTH))
    print(f"Cost per 1M page views (spread over a month, list prices): ${total:.2f}")
    _progress(f"wrote {args.output} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
