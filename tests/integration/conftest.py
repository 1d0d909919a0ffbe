"""Handlers in-process against moto, with the tables, queues and bus that template.yaml describes."""

import contextlib
import importlib
import json
import logging
import os
import socket
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from leadstream.accounts.repository import PROFILE_SK, AccountRepository, account_pk
from leadstream.identity.identifiers import device_lead, identifiers
from leadstream.identity.repository import ProfileRepository
from leadstream.platform import aws as aws_clients
from leadstream.platform import secrets
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.events import BehaviourEvent
from leadstream.tracking.repository import EventRepository

from local.aws import clients, delivery_queue_name, provision
from local.environment import REGION, local_overrides
from local.events import as_delivered, as_ttl_removal, target_input
from local.moto_server import LocalAws
from local.runner import STACK, create_demo_source
from local.template import Stack, load_stack
from tests.builders import LambdaContext, stream_records

logging.getLogger("werkzeug").setLevel(logging.ERROR)
SITE = "https://www.acme-demo.test"


@pytest.fixture(scope="session")
def notifications_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notify") / "notifications.jsonl"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode, as `make run` uses it (its in-process mock does not serve DynamoDB Streams)."""
    port = _free_port()
    server = LocalAws(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def stack(notifications_file: Path, moto_endpoint: str) -> Iterator[Stack]:
    yield from configured_stack(notifications_file, moto_endpoint)


def configured_stack(notifications_file: Path, moto_endpoint: str, **parameters: str) -> Iterator[Stack]:
    """The template's stack as the tests run it, with these template parameters besides; every function's
    environment is this process's while it is in use."""
    overrides = local_overrides(region=REGION, notifications_file=notifications_file)
    loaded = load_stack(
        STACK,
        REGION,
        {"StageName": "test", "LocalAwsEndpoint": moto_endpoint, **parameters},
        overrides,
    )
    saved = dict(os.environ)
    for function in loaded.functions.values():
        os.environ.update(function.environment)
    yield loaded
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def aws(stack: Stack, moto_endpoint: str) -> dict[str, Any]:
    """Fresh tables, queues and bus for each test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    handles = clients(moto_endpoint, REGION)
    handles["queues"] = provision(stack, handles)
    create_demo_source(stack, moto_endpoint, (SITE, "http://localhost:3000"))
    for module in [
        m for name, m in sys.modules.items() if name.startswith("functions.") and name.endswith(".app")
    ]:
        for use_case in (getattr(module, "intake", None), getattr(module, "forms", None)):
            if use_case is not None:  # a warm container keeps a key's source a minute; tests start afresh
                use_case.directory.forget()
        known = getattr(module, "origins", None)
        if known is not None:  # and the origins CORS preflights passed
            known.forget()
    secrets.forget()  # each test's stack has a new link secret
    return handles


def _handler(module: str) -> ModuleType:
    return importlib.import_module(f"functions.{module}.app")


@pytest.fixture
def track(aws: dict[str, Any]) -> ModuleType:
    return _handler("track")


@pytest.fixture
def email_links(aws: dict[str, Any]) -> ModuleType:
    return _handler("email_links")


@pytest.fixture
def form(aws: dict[str, Any]) -> ModuleType:
    return _handler("form")


@pytest.fixture
def score(aws: dict[str, Any]) -> ModuleType:
    return _handler("score")


@pytest.fixture
def publish(aws: dict[str, Any]) -> ModuleType:
    return _handler("publish")


@pytest.fixture
def notify(aws: dict[str, Any], notifications_file: Path) -> ModuleType:
    notifications_file.unlink(missing_ok=True)
    return _handler("notify_sales")


@pytest.fixture
def expire(aws: dict[str, Any]) -> ModuleType:
    return _handler("expire")


@pytest.fixture
def account(aws: dict[str, Any]) -> ModuleType:
    return _handler("account")


@pytest.fixture
def api(aws: dict[str, Any]) -> ModuleType:
    return _handler("api")


@pytest.fixture
def leads_table(stack: Stack) -> str:
    return stack.physical_name("LeadsTable")


@pytest.fixture
def items(aws: dict[str, Any], leads_table: str) -> Any:
    """All items of the leads table (a function, so each call reads afresh)."""

    def read(table: str | None = None) -> list[dict[str, Any]]:
        return aws["dynamodb"].scan(TableName=table or leads_table)["Items"]

    return read


@pytest.fixture
def new_records(aws: dict[str, Any], leads_table: str, stack: Stack) -> Any:
    """Stream records of the leads table not returned by an earlier call; with a function's name, only
    those its template FilterCriteria let through."""
    seen: set[str] = set()
    subscriptions = {sub.function: sub for sub in stack.streams if sub.table == "LeadsTable"}

    def read(function: str | None = None) -> list[dict[str, Any]]:
        fresh = [r for r in stream_records(aws, leads_table) if r["eventID"] not in seen]
        seen.update(r["eventID"] for r in fresh)
        return fresh if function is None else [r for r in fresh if subscriptions[function].matches(r)]

    return read


@pytest.fixture
def archive(aws: dict[str, Any]) -> ModuleType:
    return _handler("archive")


@pytest.fixture
def bucket(stack: Stack) -> str:
    """The event archive's bucket."""
    return stack.physical_name("ArchiveBucket")


@pytest.fixture
def archive_stream(aws: dict[str, Any], leads_table: str, stack: Stack) -> Any:
    """Hands the leads table's stream records not handed over before to ArchiveFunction, as its template
    subscription filters them (a function): the archive once its stream consumer has caught up."""
    subscription = next(sub for sub in stack.streams if sub.function == "ArchiveFunction")
    handler = _handler("archive")
    seen: set[str] = set()

    def run() -> None:
        fresh = [r for r in stream_records(aws, leads_table) if r["eventID"] not in seen]
        seen.update(r["eventID"] for r in fresh)
        records = [r for r in fresh if subscription.matches(r)]
        if records:
            assert handler.lambda_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}

    return run


@pytest.fixture
def filters(stack: Stack) -> dict[str, str]:
    """Stream-subscribed functions by name (new_records takes the name and applies their filter)."""
    return {sub.function: sub.function for sub in stack.streams if sub.table == "LeadsTable"}


@contextlib.contextmanager
def throttled_puts() -> Iterator[None]:
    """DynamoDB answers every PutItem of the functions in this process with ThrottlingException (a fault,
    injected at their one DynamoDB client: the handlers and data access run as they are)."""
    client = aws_clients.client("dynamodb")

    def throttle(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    client.meta.events.register("before-call.dynamodb.PutItem", throttle)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb.PutItem", throttle)


@contextlib.contextmanager
def dynamodb_calls() -> Iterator[dict[str, int]]:
    """Counts the DynamoDB API calls the functions in this process really make, by operation."""
    client = aws_clients.client("dynamodb")
    counts: dict[str, int] = {}

    def count(model: Any, **kwargs: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield counts
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def notifications(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- reading what the functions did, through the product's own repositories and the bus ---------------------


def lead_of(anonymous_id: str | None = None, user_id: str | None = None, email: str | None = None) -> str:
    """The lead a visitor's events are stored under: that of their own identifier (identity.device_lead)."""
    return device_lead(identifiers(anonymous_id, user_id, email))


@pytest.fixture
def scores(aws: dict[str, Any], leads_table: str) -> ScoreRepository:
    return ScoreRepository(leads_table)


@pytest.fixture
def profiles(aws: dict[str, Any], leads_table: str) -> ProfileRepository:
    return ProfileRepository(leads_table)


@pytest.fixture
def behaviour(aws: dict[str, Any], leads_table: str, stack: Stack) -> Any:
    """Every behaviour event stored so far, as (lead id, event), in the order ScoreFunction receives them:
    the table's stream through ScoreFunction's template filter (new events only), read by EventRepository.
    A function, so each call reads afresh."""
    scoring = next(sub for sub in stack.streams if sub.function == "ScoreFunction")
    events = EventRepository(leads_table)

    def read() -> list[tuple[str, BehaviourEvent]]:
        return [
            events.from_image(r["dynamodb"]["NewImage"])
            for r in stream_records(aws, leads_table)
            if scoring.matches(r)
        ]

    return read


@pytest.fixture
def accounts(aws: dict[str, Any], stack: Stack) -> Any:
    """An account's profile and members, read through AccountRepository's items (it has no reader yet)."""
    repository = AccountRepository(stack.physical_name("AccountsTable"))

    def read(domain: str) -> tuple[Any, set[str]]:
        try:
            profile = repository.accounts.get(account_pk(domain), PROFILE_SK)
        except repository.accounts.DoesNotExist:
            profile = None
        members = repository.members.query(account_pk(domain), repository.members.sk.startswith("LEAD#"))
        return profile, {m.lead_id for m in members}

    return read


@pytest.fixture
def published(aws: dict[str, Any], stack: Stack) -> Any:
    """The events on the bus that the template's 'lead became SQL' rule matched, as EventBridge put them on
    the bus (each call takes the ones delivered since the last call). Its target receives `handed_over`
    of each."""
    rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")
    url = aws["queues"][delivery_queue_name(stack, rule.name)]

    def read() -> list[dict[str, Any]]:
        found = []
        while True:
            batch = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(as_delivered(json.loads(message["Body"]), REGION))
                aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return read


@pytest.fixture
def handed_over(stack: Stack) -> Any:
    """What the 'lead became SQL' rule hands NotifySalesFunction for a bus event (its target input, as the
    template sets it: a reference to the stage change)."""
    rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")

    def handed(event: dict[str, Any]) -> Any:
        return target_input(rule, event, REGION)

    return handed


@contextlib.contextmanager
def bus_entries() -> Iterator[list[dict[str, Any]]]:
    """Every entry the functions in this process put on a bus (EventBridge takes them as usual): read at
    their one EventBridge client, for events no rule of the template delivers anywhere yet."""
    client = aws_clients.client("events")
    entries: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        entries.extend(json.loads(params["body"])["Entries"])

    client.meta.events.register("before-call.events.PutEvents", record)
    try:
        yield entries
    finally:
        client.meta.events.unregister("before-call.events.PutEvents", record)


@contextlib.contextmanager
def eventbridge_rejects(rejected: Any = lambda entry: True) -> Iterator[list[dict[str, Any]]]:
    """EventBridge answers PutEvents for the entries `rejected(entry)` picks with FailedEntryCount 1 and an
    error code, as it does when it is throttled or failing internally; the entry is not put on the bus.
    Injected at the functions' one EventBridge client. Yields the entries rejected so far."""
    client = aws_clients.client("events")
    refused: list[dict[str, Any]] = []

    def answer(params: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        entries = json.loads(params["body"])["Entries"]
        if not any(rejected(entry) for entry in entries):
            return None  # EventBridge takes it
        refused.extend(entries)
        failed = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error."} for _ in entries
        ]
        return AWSResponse("", 200, {}, None), {"FailedEntryCount": len(entries), "Entries": failed}

    client.meta.events.register("before-call.events.PutEvents", answer)
    try:
        yield refused
    finally:
        client.meta.events.unregister("before-call.events.PutEvents", answer)


@pytest.fixture
def ttl_deletes(aws: dict[str, Any], leads_table: str, stack: Stack) -> Any:
    """DynamoDB's TTL at work on leads' STATE items (moto runs no TTL deletes): deletes each, and returns
    the stream records AWS sends for such deletions that ExpireFunction's template filter lets through."""
    expiring = next(sub for sub in stack.streams if sub.function == "ExpireFunction")

    def delete(*lead_ids: str) -> dict[str, Any]:
        before = {r["eventID"] for r in stream_records(aws, leads_table)}
        for lead in lead_ids:
            key = {"pk": {"S": f"LEAD#{lead}"}, "sk": {"S": "STATE"}}
            aws["dynamodb"].delete_item(TableName=leads_table, Key=key)
        removed = [
            as_ttl_removal(r)
            for r in stream_records(aws, leads_table)
            if r["eventID"] not in before and r["eventName"] == "REMOVE"
        ]
        return {"Records": [r for r in removed if expiring.matches(r)]}

    return delete
