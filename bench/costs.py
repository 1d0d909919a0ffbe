"""What a page view, an identify and a form-to-SQL journey cost, counted from the AWS calls actually made.

Every function of template.yaml runs in a Lambda-like process of its own (bench.worker, started with the
function's environment; tracing and metrics on, as deployed) against moto in server mode. The bench drives
them as AWS would: API requests as HTTP API events; the leads table stream read from TRIM_HORIZON and
handed to each subscribed function through its template FilterCriteria and BatchSize; the events that
functions put on the bus handed to the functions whose rule pattern matches them, in EventBridge's
envelope. In each process botocore's event hooks record every call (bench.awscalls): DynamoDB requests
and the units DynamoDB bills for them (from item sizes, before and after), PutEvents entries, the rest.
Nothing is counted by the functions' own code.
"""

import base64
import json
import math
import os
import statistics
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moto.events.models import EventPattern

from bench import lambdaenv
from bench.lambdaenv import SITE, LocalAws
from local.events import lambda_record, target_input
from local.gateway import api_event
from local.runner import DEMO_WRITE_KEY
from local.template import ACCOUNT, REPO, Function, Stack

Progress = Callable[[str], None]

PAGES = (
    ("/", "Home"),
    ("/product", "Product"),
    ("/blog/serverless-lead-scoring", "Serverless lead scoring"),
    ("/pricing", "Pricing"),
    ("/customers", "Customers"),
    ("/blog/attribution-101", "Attribution 101"),
    ("/docs/getting-started", "Getting started"),
    ("/pricing", "Pricing"),
    ("/request-demo", "Request a demo"),
    ("/about", "About us"),
)
# Where visitors first arrive from, in turn: search, a paid LinkedIn campaign, a newsletter, direct.
LANDINGS = (
    ("https://www.google.com/", ""),
    ("https://www.linkedin.com/", "?utm_source=linkedin&utm_medium=paid&utm_campaign=spring-launch"),
    ("", "?utm_source=newsletter&utm_medium=email&utm_campaign=2025-11"),
    ("", ""),
)
# A visitor who becomes sales-qualified: reads these pages, then requests a demo with a work e-mail.
JOURNEY = ("/", "/blog/serverless-lead-scoring", "/pricing", "/request-demo")
AUTH = {"authorization": "Basic " + base64.b64encode(f"{DEMO_WRITE_KEY}:".encode()).decode()}
USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko)"
SOURCE_IP = "203.0.113.7"


# --- the functions, each in its own process ---------------------------------------------------------


class FunctionError(RuntimeError):
    """A handler raised, answered an error, or its process died."""


@dataclass
class Invocation:
    function: str
    seconds: float  # handler wall time, less the bench's own item-size look-ups
    dynamodb_waiting: float  # wall-clock time with at least one DynamoDB request in flight
    round_trips: float  # the same, counting only the latency injected in each request
    calls: list[dict[str, Any]]
    log_bytes: int
    response: Any
    records: int = 0  # stream records in the batch

    @property
    def billed_ms(self) -> int:
        """Lambda bills duration rounded up to the millisecond."""
        return max(1, math.ceil(self.seconds * 1000))


class Worker:
    """One function in a Lambda-like process of its own, warm between invocations."""

    def __init__(self, stack: Stack, function: Function, log_dir: Path) -> None:
        self.stack, self.function = stack, function
        self.name = function.logical_id
        self.log_path = log_dir / f"{self.name}.log"
        inbox_read, inbox_write = os.pipe()
        outbox_read, outbox_write = os.pipe()
        code = (
            f"import sys; sys.path[:0] = {lambdaenv.handler_paths(function)!r}; "
            f"sys.path.append({str(REPO)!r}); "
            f"from bench.worker import serve; serve({function.handler!r}, {inbox_read}, {outbox_write})"
        )
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", code],
                env=lambdaenv.function_environment(stack, function),
                cwd=function.code_uri,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(inbox_read, outbox_write),
            )
        os.close(inbox_read)
        os.close(outbox_write)
        self._to: IO[str] = os.fdopen(inbox_write, "w", encoding="utf-8")
        self._from: IO[str] = os.fdopen(outbox_read, "r", encoding="utf-8")
        ready = self._receive()
        if not ready["ok"]:
            raise FunctionError(f"{self.name} failed to import its handler:\n{ready['error']}")

    def _receive(self) -> dict[str, Any]:
        line = self._from.readline()
        if not line:
            code = self._process.wait(timeout=10)
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise FunctionError(f"{self.name}: its process exited ({code}); the end of its log:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke(
        self, event: dict[str, Any], *, costing: bool = True, latency: float = 0.0, stand_in: bool = False
    ) -> Invocation:
        context = lambdaenv.context_fields(
            self.stack,
            self.function.environment["AWS_LAMBDA_FUNCTION_NAME"],
            lambdaenv.memory_mb(self.stack, self.name),
            self.function.timeout,
        )
        request = {
            "event": event,
            "costing": costing,
            "latency": latency,
            "stand_in": stand_in,
            "trace_id": lambdaenv.trace_header(),
            "context": context,
        }
        self._to.write(json.dumps(request) + "\n")
        self._to.flush()
        answer = self._receive()
        if not answer["ok"]:
            raise FunctionError(f"{self.name} raised:\n{answer['error']}")
        lambdaenv.check_response(self.name, answer["response"])
        return Invocation(
            self.name,
            max(0.0, float(answer["seconds"]) - float(answer["lookup_seconds"])),
            float(answer["dynamodb_waiting"]),
            float(answer["round_trips"]),
            list(answer["calls"]),
            int(answer["log_bytes"]),
            answer["response"],
            len(event.get("Records", [])),
        )

    def stop(self) -> None:
        self._to.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._from.close()


@dataclass
class Workers:
    items: dict[str, Worker]
    log_dir: Path

    def stop(self) -> None:
        for worker in self.items.values():
            worker.stop()


def start_workers(local: LocalAws, progress: Progress) -> Workers:
    log_dir = local.scratch_dir("logs")
    workers: dict[str, Worker] = {}
    try:
        for logical_id, function in local.stack.functions.items():
            progress(f"costs: starting {logical_id}")
            workers[logical_id] = Worker(local.stack, function, log_dir)
    except BaseException:
        for worker in workers.values():
            worker.stop()
        raise
    return Workers(workers, log_dir)


def warm_up(local: LocalAws, workers: Workers) -> None:
    """Each function's first invocation (its sample event, in template order) is a cold one: not counted."""
    for logical_id, worker in workers.items.items():
        event = json.loads(lambdaenv.sample_event_path(logical_id).read_text())
        local.empty_table("IdempotencyTable")
        worker.invoke(lambdaenv.fresh_copy(event))


# --- the pipeline, wired as template.yaml wires it ----------------------------------------------------


class StreamReader:
    """Reads a table's stream from TRIM_HORIZON; each call returns the records added since the last."""

    def __init__(self, aws: dict[str, Any], table: str) -> None:
        self.streams = aws["dynamodbstreams"]
        self.arn: str = aws["dynamodb"].describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.iterators: dict[str, str] = {}

    def new_records(self) -> list[dict[str, Any]]:
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        records: list[dict[str, Any]] = []
        for shard_id, iterator in self.iterators.items():
            while True:
                response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = response["NextShardIterator"]
                records += [lambda_record(r, self.arn) for r in response["Records"]]
                if not response["Records"]:
                    break
            self.iterators[shard_id] = iterator
        return records


def _bus_name(name_or_arn: str | None) -> str:
    return (name_or_arn or "default").rsplit("/", 1)[-1]


class Pipeline:
    """The functions wired as template.yaml wires them: routes, stream subscriptions, bus rules."""

    def __init__(self, local: LocalAws, workers: Workers) -> None:
        self.stack, self.local, self.workers = local.stack, local, workers
        tables = dict.fromkeys(sub.table for sub in self.stack.streams)
        self.readers = {t: StreamReader(local.aws, self.stack.physical_name(t)) for t in tables}
        self.ledger: list[Invocation] = []
        self._bus_seen = 0
        self._patterns = [(rule, EventPattern.load(json.dumps(rule.pattern))) for rule in self.stack.rules]

    def invoke(self, logical_id: str, event: dict[str, Any], **options: Any) -> Invocation:
        invocation = self.workers.items[logical_id].invoke(event, **options)
        self.ledger.append(invocation)
        return invocation

    def request(
        self, method: str, path: str, body: dict[str, Any], content_type: str = "application/json"
    ) -> Invocation:
        """An HTTP API request to the function whose route matches, as API Gateway hands it over."""
        for route in self.stack.routes:
            params = route.match(method, path)
            if params is not None:
                break
        else:
            raise RuntimeError(f"no route in template.yaml for {method} {path}")
        headers = {
            "content-type": content_type,
            "user-agent": USER_AGENT,
            "origin": SITE,
            "host": "api.example.com",
            **AUTH,
        }
        event = api_event(method, path, headers, json.dumps(body).encode(), route, params, SOURCE_IP)
        return self.invoke(route.function, event)

    def settle(self) -> None:
        """Deliver stream records and bus events until nothing moves any more."""
        while True:
            moved = False
            for table, reader in self.readers.items():
                records = reader.new_records()
                moved = moved or bool(records)
                for sub in self.stack.streams:
                    if sub.table == table:
                        self.stream(sub.function, [r for r in records if sub.matches(r)], sub.batch_size)
            for event in self._new_bus_events():
                bus = _bus_name(event.pop("_bus", None))
                for rule, pattern in self._patterns:
                    if _bus_name(rule.bus) == bus and pattern.matches_event(event):  # type: ignore[arg-type]
                        self.invoke(rule.function, target_input(rule, event, self.stack.region))
                        moved = True
            if not moved:
                return

    def stream(self, function: str, records: list[dict[str, Any]], batch_size: int) -> None:
        """A subscription's records, to its function in batches of its BatchSize."""
        for start in range(0, len(records), batch_size):
            self.deliver(function, records[start : start + batch_size])

    def deliver(self, function: str, batch: list[dict[str, Any]]) -> None:
        self.invoke(function, {"Records": batch})

    def _new_bus_events(self) -> Iterator[dict[str, Any]]:
        fresh, self._bus_seen = self.ledger[self._bus_seen :], len(self.ledger)
        for invocation in fresh:
            for call in invocation.calls:
                for entry in call.get("entries", []):
                    yield {
                        "version": "0",
                        "id": str(uuid.uuid4()),
                        "detail-type": entry["DetailType"],
                        "source": entry["Source"],
                        "account": ACCOUNT,
                        "time": "2026-01-01T00:00:00Z",
                        "region": self.stack.region,
                        "resources": entry.get("Resources") or [],
                        "detail": json.loads(entry["Detail"]),
                        "_bus": entry.get("EventBusName"),
                    }

    def take(self) -> list[Invocation]:
        taken, self.ledger = self.ledger, []
        self._bus_seen = 0
        return taken


def page_view(visitor: str, number: int, view: int, path: str | None = None) -> dict[str, Any]:
    """A Segment page call as analytics.js sends it."""
    page, title = PAGES[(number + view) % len(PAGES)]
    if path is not None:
        page, title = path, path.strip("/").replace("-", " ").title() or "Home"
    referrer, search = LANDINGS[number % len(LANDINGS)] if view == 0 else (SITE + "/", "")
    return {
        "type": "page",
        "anonymousId": visitor,
        "messageId": f"ajs-{uuid.uuid4().hex}",
        "name": title,
        "properties": {"path": page, "url": SITE + page + search, "title": title, "referrer": referrer},
        "context": {
            "page": {
                "path": page,
                "url": SITE + page + search,
                "search": search,
                "title": title,
                "referrer": referrer,
            },
            "userAgent": USER_AGENT,
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
            "locale": "en-GB",
        },
    }


def _contact(number: int) -> dict[str, str]:
    return {
        "email": f"jane.doe{number}@acme-{number}.co.uk",
        "name": f"Jane Doe {number}",
        "company": f"Acme {number}",
        "title": "VP Marketing",
    }


# --- scenarios ----------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """What one unit (a page view, an identify, a journey) costs, from the invocations it caused."""

    name: str
    unit: str
    count: int
    invocations: list[Invocation]
    tables: dict[str, str]  # physical name -> logical id
    note: str = ""

    def per(self, value: float) -> float:
        return value / self.count

    def _calls(self, service: str | None = None) -> Iterator[dict[str, Any]]:
        for invocation in self.invocations:
            for call in invocation.calls:
                if service is None or call["service"] == service:
                    yield call

    @property
    def write_requests(self) -> int:
        return sum(1 for c in self._calls("dynamodb") if c["op"] in _WRITE_OPS)

    @property
    def read_requests(self) -> int:
        return sum(1 for c in self._calls("dynamodb") if c["op"] in _READ_OPS)

    @property
    def write_units(self) -> float:
        return float(sum(u for c in self._calls("dynamodb") for _, _, u in c["writes"]))

    @property
    def read_units(self) -> float:
        return float(sum(u for c in self._calls("dynamodb") for _, _, u in c["reads"]))

    def by_item(self) -> dict[tuple[str, str], list[float]]:
        """(table, item kind) -> [items written, write units, items read, read units]."""
        found: dict[tuple[str, str], list[float]] = {}
        for call in self._calls("dynamodb"):
            for slot, lines in ((0, call["writes"]), (2, call["reads"])):
                for table, kind, units in lines:
                    row = found.setdefault((self.tables.get(table, table), kind), [0, 0, 0, 0])
                    row[slot] += 1
                    row[slot + 1] += units
        return found

    @property
    def bus_entries(self) -> list[dict[str, Any]]:
        return [e for c in self._calls("events") for e in c.get("entries", [])]

    @property
    def bus_events_billed(self) -> int:
        """EventBridge bills each 64 KB chunk of an entry as one event."""
        return sum(max(1, math.ceil(len(json.dumps(e).encode()) / 65536)) for e in self.bus_entries)

    @property
    def stage_changes(self) -> Counter[str]:
        return Counter(str(json.loads(e["Detail"]).get("to_stage")) for e in self.bus_entries)

    def other_calls(self) -> Counter[str]:
        return Counter(f"{c['service']}.{c['op']}" for c in self._calls() if c["service"] != "dynamodb")

    def functions(self) -> list[str]:
        return list(dict.fromkeys(i.function for i in self.invocations))

    def invocations_of(self, function: str) -> list[Invocation]:
        return [i for i in self.invocations if i.function == function]

    def median_ms(self, function: str) -> float:
        return statistics.median(i.seconds * 1000 for i in self.invocations_of(function))

    def records_per_batch(self, function: str) -> float:
        found = self.invocations_of(function)
        return sum(i.records for i in found) / len(found) if found else 0.0

    @property
    def log_bytes(self) -> int:
        return sum(i.log_bytes for i in self.invocations)


_WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_READ_OPS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def _tables(stack: Stack) -> dict[str, str]:
    return {stack.physical_name(t): t for t in stack.of_type("AWS::DynamoDB::Table")}


def page_views(
    pipeline: Pipeline, name: str, visitors: int, views: int, settle: str, progress: Progress
) -> Scenario:
    """`visitors` anonymous visitors browse side by side, `views` page views each. The stream is delivered
    after every page view (settle="view": one record per Score batch, as a quiet site's traffic
    arrives), after every round of one view per visitor ("round") or once at the end ("end")."""
    ids = [f"visitor-{uuid.uuid4()}" for _ in range(visitors)]
    for view in range(views):
        for number, visitor in enumerate(ids):
            pipeline.request("POST", "/v1/page", page_view(visitor, number, view))
            if settle == "view":
                pipeline.settle()
        if settle == "round":
            pipeline.settle()
        progress(f"costs: {name}: {(view + 1) * visitors}/{visitors * views} page views")
    pipeline.settle()
    return Scenario(name, "page view", visitors * views, pipeline.take(), _tables(pipeline.stack))


def identifies(pipeline: Pipeline, visitors: int, progress: Progress) -> Scenario:
    """Visitors who have read two pages identify themselves (a work e-mail, a senior title): only the
    identify calls and what they cause are counted."""
    ids = [f"visitor-{uuid.uuid4()}" for _ in range(visitors)]
    for view in range(2):
        for number, visitor in enumerate(ids):
            pipeline.request("POST", "/v1/page", page_view(visitor, number, view, ("/", "/product")[view]))
        pipeline.settle()
    pipeline.take()
    for number, visitor in enumerate(ids):
        contact = _contact(number)
        body = {
            "type": "identify",
            "anonymousId": visitor,
            "userId": f"user-{uuid.uuid4().hex[:12]}",
            "messageId": f"ajs-{uuid.uuid4().hex}",
            "traits": contact,
            "context": {
                "userAgent": USER_AGENT,
                "library": {"name": "analytics.js", "version": "next-1.72.0"},
            },
        }
        pipeline.request("POST", "/v1/identify", body)
    pipeline.settle()
    progress(f"costs: identify: {visitors} identifies")
    return Scenario(
        "identify",
        "identify",
        visitors,
        pipeline.take(),
        _tables(pipeline.stack),
        note=f"after 2 page views each (not counted); {visitors} identifies in one round",
    )


def forms_to_sql(pipeline: Pipeline, visitors: int, progress: Progress) -> Scenario:
    """Visitors read the journey's pages, then request a demo with a work e-mail: each becomes an SQL.
    Everything is counted: the page views, the form, scoring, publishing and notifying sales."""
    ids = [f"visitor-{uuid.uuid4()}" for _ in range(visitors)]
    for view, path in enumerate(JOURNEY):
        for number, visitor in enumerate(ids):
            pipeline.request("POST", "/v1/page", page_view(visitor, number, view, path))
        pipeline.settle()
    for number, visitor in enumerate(ids):
        body = {**_contact(number), "anonymousId": visitor, "pagePath": "/request-demo"}
        pipeline.request("POST", "/v1/forms/demo-request", body)
    pipeline.settle()
    result = Scenario(
        "form to SQL",
        "journey",
        visitors,
        pipeline.take(),
        _tables(pipeline.stack),
        note=f"{len(JOURNEY)} page views, then the demo-request form; {visitors} visitors side by side",
    )
    sql = result.stage_changes.get("SQL", 0)
    notified = [i for i in result.invocations if i.function in {r.function for r in pipeline.stack.rules}]
    if sql != visitors or len(notified) != visitors:
        raise RuntimeError(
            f"form to SQL: {visitors} journeys made {sql} SQL stage changes and {len(notified)} "
            "notifications; every journey should make one of each (has the scoring model changed?)"
        )
    progress(f"costs: form to SQL: {visitors} journeys, {sql} SQLs notified")
    return result


@dataclass
class BatchPath:
    messages: int
    batch_size: int
    write_requests: int
    write_units: float
    operations: Counter[str]

    @property
    def messages_per_request(self) -> float:
        return self.messages / self.write_requests


def batch_path(pipeline: Pipeline, progress: Progress, batches: int = 10, size: int = 100) -> BatchPath:
    """Page views sent through /v1/batch as analytics.js batches them: DynamoDB writes per message."""
    ids = [f"visitor-{uuid.uuid4()}" for _ in range(size)]
    for round_ in range(batches):
        messages = [page_view(v, n, round_) for n, v in enumerate(ids)]
        pipeline.request("POST", "/v1/batch", {"batch": messages}, content_type="text/plain")
    result = Scenario("batch", "message", batches * size, pipeline.take(), _tables(pipeline.stack))
    operations = Counter(
        c["op"]
        for i in result.invocations
        for c in i.calls
        if c["service"] == "dynamodb" and c["op"] in _WRITE_OPS
    )
    found = BatchPath(batches * size, size, result.write_requests, result.write_units, operations)
    progress(f"costs: batch path: {found.messages} messages in {found.write_requests} write requests")
    return found


# --- ScoreFunction and a 100-lead batch -------------------------------------------------------------


@dataclass
class ScoreBatch:
    stand_in: bool  # a DynamoDB stand-in that answers concurrently, instead of moto
    latency_ms: float
    records: int
    leads: int
    wall_seconds: float
    dynamodb_calls: Counter[str]
    tries: int
    waiting_seconds: float  # before-send to response, moto's own service time included
    round_trip_seconds: float  # the injected round trips only
    handler_thread: int  # DynamoDB requests made on the handler's own thread
    other_threads: list[int]  # and on each other thread

    @property
    def sequential_round_trips(self) -> int:
        """Round trips one after another if every other thread ran at once: the handler thread's, then
        the busiest other thread's (a lower bound for DynamoDB's own concurrency)."""
        return self.handler_thread + max(self.other_threads, default=0)


STAND_IN_RUN = (0.010, True)  # the verdict: a DynamoDB that answers concurrently in a 10 ms round trip
MOTO_RUNS = ((0.010, False), (0.0, False))


def score_batches(
    pipeline: Pipeline,
    progress: Progress,
    runs: tuple[tuple[float, bool], ...] = (STAND_IN_RUN, *MOTO_RUNS),
    leads: int = 100,
) -> list[ScoreBatch]:
    """ScoreFunction on one stream batch of `leads` records, one page view each of `leads` different
    leads, with a fixed latency slept in every DynamoDB request (before-send), answered by moto or by a
    stand-in that answers concurrently (no moto): once per run, each time on new leads."""
    pipeline.settle()
    pipeline.take()
    sub = next(s for s in pipeline.stack.streams if s.function == "ScoreFunction")
    reader = pipeline.readers[sub.table]
    found = []
    for latency, stand_in in runs:
        for number in range(leads):
            pipeline.request("POST", "/v1/page", page_view(f"visitor-{uuid.uuid4()}", number, 0))
        records = [r for r in reader.new_records() if sub.matches(r)]
        distinct = len({r["dynamodb"]["Keys"]["pk"]["S"] for r in records})
        if len(records) != leads or distinct != leads:
            raise RuntimeError(f"expected {leads} records of {leads} leads, got {len(records)} of {distinct}")
        invocation = pipeline.workers.items["ScoreFunction"].invoke(
            {"Records": records}, costing=False, latency=latency, stand_in=stand_in
        )
        calls = Counter(c["op"] for c in invocation.calls if c["service"] == "dynamodb")
        threads = Counter(str(c["thread"]) for c in invocation.calls if c["service"] == "dynamodb")
        handler_thread = threads.pop("handler", 0)
        found.append(
            ScoreBatch(
                stand_in,
                latency * 1000,
                len(records),
                distinct,
                invocation.seconds,
                calls,
                sum(int(c["tries"]) for c in invocation.calls if c["service"] == "dynamodb"),
                invocation.dynamodb_waiting,
                invocation.round_trips,
                handler_thread,
                sorted(threads.values(), reverse=True),
            )
        )
        progress(
            f"costs: ScoreFunction, {leads}-lead batch at {latency * 1000:.0f} ms per DynamoDB request"
            f"{' (concurrent stand-in)' if stand_in else ' (moto)'}: "
            f"{invocation.seconds:.3f} s, DynamoDB waiting {invocation.round_trips:.3f} s in round trips, "
            f"{invocation.dynamodb_waiting:.3f} s with moto's own time"
        )
        pipeline.settle()  # what the batch set off (publishing), so that the next run starts clean
        pipeline.take()
    return found


# --- everything, in one run ---------------------------------------------------------------------------


@dataclass
class Results:
    scenarios: list[Scenario]
    batch: BatchPath
    score: list[ScoreBatch]
    memory_mb: dict[str, int] = field(default_factory=dict)
    api_functions: set[str] = field(default_factory=set)
    bus_targets: set[str] = field(default_factory=set)


QUIET = "one view per Score batch"
BUSY = "one view per lead per batch"


def measure(local: LocalAws, progress: Progress) -> Results:
    local.fresh()
    workers = start_workers(local, progress)
    try:
        progress("costs: warm-up (each function's first, cold invocation is not counted)")
        warm_up(local, workers)

        def fresh() -> Pipeline:
            # Each scenario on empty tables: moto copies every table for each TransactWriteItems (its
            # rollback), so on tables the earlier scenarios filled, the transactions of a stage change
            # queue behind each other past the client's read timeout. DynamoDB does no such thing.
            local.fresh()
            return Pipeline(local, workers)

        scenarios = [
            page_views(fresh(), QUIET, visitors=50, views=2, settle="view", progress=progress),
            page_views(fresh(), BUSY, visitors=100, views=5, settle="round", progress=progress),
            page_views(
                fresh(), "5 views per lead per batch", visitors=20, views=25, settle="end", progress=progress
            ),
            identifies(fresh(), visitors=50, progress=progress),
            forms_to_sql(fresh(), visitors=20, progress=progress),
        ]
        pipeline = fresh()
        score = score_batches(pipeline, progress)
        batch = batch_path(pipeline, progress)
    finally:
        workers.stop()
    stack = local.stack
    return Results(
        scenarios,
        batch,
        score,
        {name: lambdaenv.memory_mb(stack, name) for name in stack.functions},
        {r.function for r in stack.routes},
        {r.function for r in stack.rules},
    )


# --- cost at list prices ------------------------------------------------------------------------------

# us-east-1 list prices (on-demand, no free tier), as of 2025.
PRICES: list[tuple[str, str, float]] = [
    ("API Gateway HTTP API", "per million requests (first 300 million a month)", 1.00),
    ("Lambda requests", "per million requests", 0.20),
    ("Lambda duration, arm64", "per GB-second", 0.0000133334),
    ("DynamoDB on-demand writes", "per million write request units", 0.625),
    ("DynamoDB on-demand reads", "per million read request units", 0.125),
    ("DynamoDB Streams read by Lambda", "GetRecords calls made by a Lambda trigger", 0.0),
    ("EventBridge custom events", "per million events (64 KB chunks)", 1.00),
    ("X-Ray traces recorded", "per million traces", 5.00),
    ("CloudWatch Logs ingestion", "per GB (standard class)", 0.50),
    ("SNS publishes", "per million requests", 0.50),
    ("SNS e-mail deliveries", "per 100,000 notifications", 2.00),
]
PRICE = {name: price for name, _, price in PRICES}
SECONDS_A_MONTH = 30 * 24 * 3600
XRAY_RESERVOIR = 1.0  # traces a second, per function, then
XRAY_RATE = 0.05  # of the rest


def sampled_fraction(rate: float) -> float:
    """Share of invocations X-Ray's default rule records (1 a second, then 5 %), Poisson arrivals."""
    if rate <= 0:
        return 1.0
    at_least_one = 1 - math.exp(-rate)
    return (at_least_one * XRAY_RESERVOIR + XRAY_RATE * (rate - at_least_one)) / rate


@dataclass
class CostLine:
    label: str
    quantity: float  # per unit of the scenario
    measure: str
    dollars_per_million: float


def cost_lines(results: Results, scenario: Scenario, units_per_second: float) -> list[CostLine]:
    """Each priced item for one million units of the scenario, at `units_per_second` (for X-Ray sampling)."""
    per = scenario.per
    lines = []
    api = sum(len(scenario.invocations_of(f)) for f in scenario.functions() if f in results.api_functions)
    lines.append(
        CostLine("API Gateway HTTP API", per(api), "requests", per(api) * PRICE["API Gateway HTTP API"])
    )
    invocations = len(scenario.invocations)
    lines.append(
        CostLine(
            "Lambda requests", per(invocations), "invocations", per(invocations) * PRICE["Lambda requests"]
        )
    )
    gb_s = sum(i.billed_ms / 1000 * results.memory_mb[i.function] / 1024 for i in scenario.invocations)
    lines.append(
        CostLine("Lambda duration", per(gb_s), "GB-s", per(gb_s) * PRICE["Lambda duration, arm64"] * 1e6)
    )
    lines.append(
        CostLine(
            "DynamoDB writes",
            per(scenario.write_units),
            "write request units",
            per(scenario.write_units) * PRICE["DynamoDB on-demand writes"],
        )
    )
    lines.append(
        CostLine(
            "DynamoDB reads",
            per(scenario.read_units),
            "read request units",
            per(scenario.read_units) * PRICE["DynamoDB on-demand reads"],
        )
    )
    stream_batches = sum(1 for i in scenario.invocations if i.records)
    lines.append(CostLine("DynamoDB Streams (Lambda trigger)", per(stream_batches), "batches", 0.0))
    events = scenario.bus_events_billed
    lines.append(
        CostLine(
            "EventBridge", per(events), "custom events", per(events) * PRICE["EventBridge custom events"]
        )
    )
    traces = 0.0
    for function in scenario.functions():
        if function in results.bus_targets:
            continue  # EventBridge passes the publisher's trace header on: same trace
        count = len(scenario.invocations_of(function))
        traces += count * sampled_fraction(units_per_second * per(count))
    lines.append(CostLine("X-Ray", per(traces), "traces", per(traces) * PRICE["X-Ray traces recorded"]))
    gigabytes = scenario.log_bytes / 2**30
    lines.append(
        CostLine(
            "CloudWatch Logs",
            per(scenario.log_bytes),
            "bytes ingested",
            per(gigabytes) * PRICE["CloudWatch Logs ingestion"] * 1e6,
        )
    )
    other = scenario.other_calls()
    if other.get("sns.Publish"):
        publishes = other["sns.Publish"]
        lines.append(
            CostLine(
                "SNS (publish + e-mail delivery)",
                per(publishes),
                "publishes",
                per(publishes) * (PRICE["SNS publishes"] + PRICE["SNS e-mail deliveries"] * 10),
            )
        )
    return lines
