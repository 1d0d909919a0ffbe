"""DynamoDB writes per tracked page view, end to end: TrackFunction, the leads table stream, ScoreFunction.

Everything runs in this process under moto. The functions are the real handler modules, imported with
their template environment; stream records reach ScoreFunction the way its event source mapping
delivers them (template FilterCriteria and BatchSize). Writes are counted where the code counts them,
at the data-access layer (leadstream.store.WRITES: 1 unit per started KB, x2 in transactions), and the
size of every item written to the leads table is read back from the stream.
"""

import base64
import contextlib
import importlib
import json
import math
import os
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config
from moto import mock_aws

from local.aws import provision
from local.events import lambda_record
from local.gateway import api_event
from local.runner import DEMO_WRITE_KEY, create_demo_source
from local.template import ACCOUNT, REPO, Function, Stack, StreamSubscription
from local.workers import LambdaContext


# Transitional: the meter that used to live in the data-access layer (being replaced by botocore hooks).
@dataclass
class WriteMeter:
    """Counts DynamoDB write requests and write units (1 per started KB of item, x2 in transactions)."""

    requests: int = 0
    units: int = 0
    by_item: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str, size_bytes: int, transactional: bool = False, requests: int = 1) -> None:
        """One item written; `requests=0` when it went in a batch request counted on its own."""
        units = max(1, math.ceil(size_bytes / 1024)) * (2 if transactional else 1)
        self.requests += requests
        self.units += units
        self.by_item[kind] = self.by_item.get(kind, 0) + units

    def reset(self) -> None:
        self.requests = self.units = 0
        self.by_item.clear()


WRITES = WriteMeter()


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    match kind:
        case "S":
            return len(raw.encode())
        case "N":
            digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
            return (len(digits) + 1) // 2 + 1
        case "B":
            return len(base64.b64decode(raw)) if isinstance(raw, str) else len(raw)
        case "BOOL" | "NULL":
            return 1
        case "M":
            return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
        case "L":
            return 3 + sum(_value_size(v) + 1 for v in raw)
        case "SS":
            return sum(len(s.encode()) for s in raw)
        case _:
            return sum(_value_size({kind[0]: v}) for v in raw)


def item_size(attributes: dict[str, dict[str, Any]]) -> int:
    """Size of an item as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in attributes.items())


SITE = "https://www.example.com"
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
AUTH = {"authorization": "Basic " + base64.b64encode(f"{DEMO_WRITE_KEY}:".encode()).decode()}
USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko)"


class Handler(Protocol):
    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    visitors: int
    views_per_visitor: int
    drain_every_round: bool  # score after each round of one view per visitor, or once at the end

    @property
    def page_views(self) -> int:
        return self.visitors * self.views_per_visitor


@dataclass
class WriteResult:
    scenario: Scenario
    requests: int = 0
    units: int = 0
    units_by_item: dict[str, int] = field(default_factory=dict)
    score_invocations: int = 0
    records_scored: int = 0
    lead_batches: int = 0  # sum over ScoreFunction batches of the distinct leads in each
    stage_changes: dict[str, int] = field(default_factory=dict)  # to stage -> STATE writes waking Publish
    sizes: dict[str, list[int]] = field(default_factory=dict)  # item kind -> bytes of each write

    @property
    def views_per_lead_batch(self) -> float:
        return self.records_scored / self.lead_batches if self.lead_batches else 0.0

    def per_view(self, value: int) -> float:
        return value / self.scenario.page_views


def item_kind(sk: str) -> str:
    """The store's name for an item (as in WRITES.by_item) from its sort key."""
    if sk.startswith("EVT#"):
        return "event"
    return {"STATE": "state", "PROFILE": "profile", "LINK": "link"}.get(sk, sk.lower())


class StreamReader:
    """Reads the leads table stream from TRIM_HORIZON; each call returns the records added since the last."""

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


class Subscription:
    """One stream event source mapping of the template: its filter (as Lambda applies it) and batch size."""

    def __init__(self, sub: StreamSubscription) -> None:
        self.sub = sub

    def matches(self, record: dict[str, Any]) -> bool:
        return self.sub.matches(record)

    def batches(self, records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        selected = [r for r in records if self.sub.matches(r)]
        for start in range(0, len(selected), self.sub.batch_size):
            yield selected[start : start + self.sub.batch_size]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _import_handler(function: Function, overrides: dict[str, str]) -> Handler:
    """The function's handler, imported as a package module of the repo with its own environment."""
    module_name, attribute = function.handler.rsplit(".", 1)
    package = ".".join(function.code_uri.relative_to(REPO).parts)
    os.environ.update({**function.environment, **overrides})
    handler: Handler = getattr(importlib.import_module(f"{package}.{module_name}"), attribute)
    return handler


def _page_view(visitor: str, number: int, view: int) -> dict[str, Any]:
    """A Segment page call as analytics.js sends it."""
    path, title = PAGES[(number + view) % len(PAGES)]
    referrer, search = LANDINGS[number % len(LANDINGS)] if view == 0 else (SITE + "/", "")
    return {
        "type": "page",
        "anonymousId": visitor,
        "messageId": f"ajs-{uuid.uuid4().hex}",
        "name": title,
        "properties": {"path": path, "url": SITE + path + search, "title": title, "referrer": referrer},
        "context": {
            "page": {
                "path": path,
                "url": SITE + path + search,
                "search": search,
                "title": title,
                "referrer": referrer,
            },
            "userAgent": USER_AGENT,
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
            "locale": "en-GB",
        },
    }


class Pipeline:
    """TrackFunction -> leads table stream -> ScoreFunction, wired as template.yaml wires them."""

    def __init__(self, stack: Stack, aws: dict[str, Any], overrides: dict[str, str]) -> None:
        self.region = stack.region
        self.track_fn = stack.functions["TrackFunction"]
        self.score_fn = stack.functions["ScoreFunction"]
        self.routes = stack.routes
        self.route = next(r for r in stack.routes if r.method == "POST" and r.path == "/v1/page")
        self.score = Subscription(next(s for s in stack.streams if s.function == "ScoreFunction"))
        self.publish = Subscription(next(s for s in stack.streams if s.function == "PublishFunction"))
        self.stream = StreamReader(aws, stack.physical_name("LeadsTable"))
        self.track_handler = _import_handler(self.track_fn, overrides)
        self.score_handler = _import_handler(self.score_fn, overrides)

    def _context(self, function: Function) -> LambdaContext:
        name = function.environment["AWS_LAMBDA_FUNCTION_NAME"]
        arn = f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}"
        return LambdaContext(function_name=name, invoked_function_arn=arn)

    def track(self, body: dict[str, Any]) -> None:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, "origin": SITE, **AUTH}
        event = api_event(
            "POST", self.route.path, headers, json.dumps(body).encode(), self.route, {}, "203.0.113.7"
        )
        response = self.track_handler(event, self._context(self.track_fn))
        if response.get("statusCode") != 200:
            raise RuntimeError(f"TrackFunction answered {response.get('statusCode')}: {response.get('body')}")

    def track_batch(self, messages: list[dict[str, Any]]) -> None:
        route = next(r for r in self.routes if r.method == "POST" and r.path == "/v1/batch")
        headers = {"content-type": "text/plain", "user-agent": USER_AGENT, "origin": SITE, **AUTH}
        body = json.dumps({"batch": messages}).encode()
        event = api_event("POST", route.path, headers, body, route, {}, "203.0.113.7")
        response = self.track_handler(event, self._context(self.track_fn))
        if response.get("statusCode") != 200:
            raise RuntimeError(f"TrackFunction answered {response.get('statusCode')}: {response.get('body')}")

    def drain(self, result: WriteResult) -> int:
        """Deliver every new stream record to ScoreFunction, batch by batch, as its mapping would.

        Returns how many records were read: the STATE items ScoreFunction writes are read (sized, and
        filtered out) by the next call, so draining until 0 settles the pipeline.
        """
        records = self.stream.new_records()
        for record in records:
            if record["eventName"] in ("INSERT", "MODIFY"):
                image = record["dynamodb"]["NewImage"]
                result.sizes.setdefault(item_kind(image["sk"]["S"]), []).append(item_size(image))
            if self.publish.matches(record):
                stage = record["dynamodb"]["NewImage"]["transition_to"]["S"]
                result.stage_changes[stage] = result.stage_changes.get(stage, 0) + 1
        for batch in self.score.batches(records):
            response = self.score_handler({"Records": batch}, self._context(self.score_fn))
            if response.get("batchItemFailures"):
                raise RuntimeError(f"ScoreFunction reported failures: {response['batchItemFailures']}")
            result.score_invocations += 1
            result.records_scored += len(batch)
            result.lead_batches += len({r["dynamodb"]["Keys"]["pk"]["S"] for r in batch})
        return len(records)

    def run(self, scenario: Scenario, progress: Callable[[str], None]) -> WriteResult:
        result = WriteResult(scenario)
        visitors = [f"visitor-{uuid.uuid4()}" for _ in range(scenario.visitors)]
        started = time.perf_counter()
        WRITES.reset()
        for view in range(scenario.views_per_visitor):
            # Visitors browse side by side: round `view` is every visitor's next page view.
            for number, visitor in enumerate(visitors):
                self.track(_page_view(visitor, number, view))
            if scenario.drain_every_round:
                self.drain(result)
            sent = (view + 1) * scenario.visitors
            if sent % 100 < scenario.visitors:
                progress(f"writes: {scenario.name}: {sent}/{scenario.page_views} page views")
        while self.drain(result):
            pass
        result.requests, result.units = WRITES.requests, WRITES.units
        result.units_by_item = dict(WRITES.by_item)
        progress(f"writes: {scenario.name}: done in {time.perf_counter() - started:.1f} s")
        return result


@contextlib.contextmanager
def _pipeline(stack: Stack, env_overrides: dict[str, str]) -> Iterator["Pipeline"]:
    """The functions in-process against moto's in-process mock, with the template's tables and wiring."""
    quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING"}  # as `make run` without --verbose
    with _environment({**env_overrides, **quiet}), mock_aws():
        # botocore (1.44 here) sends stream calls to <account>.streams-ddb.<region>.amazonaws.com when the
        # ARN names an account; moto intercepts only streams.dynamodb.<region>.amazonaws.com.
        config = Config(account_id_endpoint_mode="disabled")
        region = env_overrides["AWS_REGION"]
        aws = {
            name: boto3.client(name, region_name=region, config=config)
            for name in ("dynamodb", "dynamodbstreams", "sqs", "sns", "events", "secretsmanager")
        }
        provision(stack, aws)
        create_demo_source(stack, None, (SITE,))
        # stdout is for the report. Powertools' logger binds its stream when it is created, at import:
        # to stderr. Its metrics are print()ed (EMF) at call time: to /dev/null. Disabled metrics are
        # still printed every 100 values (Powertools keeps them instead of clearing them on flush).
        with contextlib.redirect_stdout(sys.stderr):
            pipeline = Pipeline(stack, aws, quiet)
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            warnings.catch_warnings(),
        ):
            # Flushing right after that every-100 print finds nothing left to publish, and says so.
            warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
            yield pipeline


def measure(
    stack: Stack, env_overrides: dict[str, str], scenarios: list[Scenario], progress: Callable[[str], None]
) -> list[WriteResult]:
    with _pipeline(stack, env_overrides) as pipeline:
        return [pipeline.run(scenario, progress) for scenario in scenarios]


@dataclass
class BatchResult:
    messages: int
    batch_size: int
    write_requests: int
    write_units: int

    @property
    def messages_per_request(self) -> float:
        return self.messages / self.write_requests


def measure_batch(
    stack: Stack,
    env_overrides: dict[str, str],
    progress: Callable[[str], None],
    batches: int = 10,
    size: int = 100,
) -> BatchResult:
    """Page views sent through /v1/batch as analytics.js batches them: DynamoDB writes per message."""
    with _pipeline(stack, env_overrides) as pipeline:
        visitors = [f"visitor-{uuid.uuid4()}" for _ in range(size)]
        WRITES.reset()
        for round_ in range(batches):
            pipeline.track_batch([_page_view(v, n, round_) for n, v in enumerate(visitors)])
        result = BatchResult(batches * size, size, WRITES.requests, WRITES.units)
        progress(f"writes: batch path: {result.messages} messages in {result.write_requests} write requests")
        return result


def size_summary(sizes: list[int]) -> tuple[int, int]:
    """(median, max) bytes."""
    return int(statistics.median(sizes)), max(sizes)
