"""`python -m cli redrive <queue> [--dry-run]`: what a failures queue holds, and its replay.

    python -m cli redrive PublishFailuresQueue --dry-run     what is parked: count, oldest, why
    python -m cli redrive PublishFailuresQueue               replay it; only what still fails stays

A message is deleted only once its work succeeded; the exit status is 1 while anything stays parked.

- NotifyFailuresQueue: each message holds the whole bus event; it is handed to NotifySalesFunction again
  (idempotent on the transition id and channel: a channel that already succeeded is not repeated).
- PublishFailuresQueue: a message names only a stream range, which the stream forgets after 24 hours. The
  work is re-derived from durable state instead: every stage change not yet published (the TRANS# items in
  the sparse `Unpublished` index) goes through PublishFunction again (idempotent on the transition id: a
  change already on the bus is not published twice). The messages are deleted once none is left.
- ScoreFailuresQueue: a message names a shard and a sequence range. While the stream still holds it, its
  behaviour records go through ScoreFunction again (the replay guards skip what was applied). Beyond the
  stream's retention the message stays, and the command says which range is lost to the stream.

Locally the functions run in this process against make run's AWS; with --stack they are invoked in Lambda.
"""

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError
from leadstream.scoring.repository import ScoreRepository

from cli import target as targets

QUEUES = {
    "ScoreFailuresQueue": "ScoreFunction",
    "PublishFailuresQueue": "PublishFunction",
    "NotifyFailuresQueue": "NotifySalesFunction",
}
HOLD_SECONDS = 300  # a message received for a replay stays invisible this long (then it comes back)
SCORE_BATCH = 100

Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> response; raises on error


class ReplayFailed(Exception):
    """The function failed, or reported records as failed."""


@dataclass(frozen=True)
class Parked:
    message_id: str
    receipt: str
    sent_at: float  # epoch seconds
    body: dict[str, Any]
    attributes: dict[str, str]

    def reason(self) -> str:
        context = self.body.get("requestContext") or {}
        condition = context.get("condition") or self.attributes.get("ERROR_CODE") or "unknown"
        error = (self.body.get("responsePayload") or {}).get("errorMessage") or self.attributes.get(
            "ERROR_MESSAGE", ""
        )
        batch = self.body.get("DDBStreamBatchInfo")
        if batch:
            error = (
                f"{batch.get('batchSize')} record(s) of shard {batch.get('shardId')}, "
                f"{batch.get('startSequenceNumber')}..{batch.get('endSequenceNumber')}"
            )
        return f"{condition}: {error}" if error else str(condition)


def receive_all(sqs: Any, url: str, hold: int) -> list[Parked]:
    """Every message visible now, each held invisible for `hold` seconds."""
    found: dict[str, Parked] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold,
            AttributeNames=["SentTimestamp"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in found]
        if not fresh:
            return sorted(found.values(), key=lambda p: p.sent_at)
        for m in fresh:
            try:
                body = json.loads(m["Body"])
            except ValueError:
                body = {"raw": m["Body"]}
            found[m["MessageId"]] = Parked(
                m["MessageId"],
                m["ReceiptHandle"],
                int(m.get("Attributes", {}).get("SentTimestamp", "0")) / 1000,
                body if isinstance(body, dict) else {"raw": body},
                {k: v.get("StringValue", "") for k, v in m.get("MessageAttributes", {}).items()},
            )


def release(sqs: Any, url: str, parked: list[Parked]) -> None:
    """Messages not dealt with are visible again at once (for the next run, or Lambda's own tools)."""
    for p in parked:
        with contextlib.suppress(ClientError):  # it comes back after HOLD_SECONDS anyway
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=p.receipt, VisibilityTimeout=0)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe(queue: str, parked: list[Parked], out: TextIO, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not parked:
        print(f"{queue}: nothing parked", file=out)
        return
    print(f"{queue}: {len(parked)} parked, oldest {_age(now - parked[0].sent_at)} ago", file=out)
    reasons: dict[str, int] = {}
    for p in parked:
        reasons[p.reason()] = reasons.get(p.reason(), 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda r: -r[1]):
        print(f"  {count} x {reason}", file=out)


def _succeeded(response: Any) -> None:
    if isinstance(response, dict) and response.get("batchItemFailures"):
        raise ReplayFailed(f"{len(response['batchItemFailures'])} record(s) reported failed")


def _stream_records(streams: Any, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The parked range from the stream; ReplayFailed when the stream no longer holds it."""
    end = int(batch["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"],
            ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch["startSequenceNumber"],
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            page = response["Records"]
            records += [r for r in page if int(r["dynamodb"]["SequenceNumber"]) <= end]
            if not page or int(page[-1]["dynamodb"]["SequenceNumber"]) >= end:
                break
            iterator = response.get("NextShardIterator")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise ReplayFailed(
            f"the stream no longer holds shard {batch['shardId']} from {batch['startSequenceNumber']} "
            f"({code}): re-score the leads concerned from their events (see README, 'At 3 a.m.')"
        ) from exc
    if not records or records[0]["dynamodb"]["SequenceNumber"] != batch["startSequenceNumber"]:
        raise ReplayFailed(
            f"the stream no longer holds shard {batch['shardId']} from {batch['startSequenceNumber']}: "
            "re-score the leads concerned from their events (see README, 'At 3 a.m.')"
        )
    return records


def _behaviour(record: dict[str, Any], stream_arn: str) -> dict[str, Any] | None:
    """A new behaviour event (ScoreFunction's filter), as Lambda hands it over; None for anything else."""
    keys = record.get("dynamodb", {}).get("Keys", {})
    if record.get("eventName") != "INSERT" or not keys.get("sk", {}).get("S", "").startswith("EVT#"):
        return None
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if created is not None and not isinstance(created, (int, float)):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": ddb, "eventSourceARN": stream_arn}


def _transition_record(raw: dict[str, Any], n: int) -> dict[str, Any]:
    """A TRANS item as the INSERT stream record PublishFunction receives for it."""
    return {
        "eventID": f"redrive-{n}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "dynamodb": {
            "Keys": {"pk": raw["pk"], "sk": raw["sk"]},
            "NewImage": raw,
            "SequenceNumber": str(n).zfill(21),
            "SizeBytes": len(json.dumps(raw)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


@dataclass
class Redrive:
    queue: str
    sqs: Any
    url: str
    scores: ScoreRepository
    invoke: Invoke
    streams: Any = None
    err: TextIO = sys.stderr

    def _progress(self, done: int, total: int, what: str) -> None:
        print(f"\r{self.queue}: {done}/{total} {what}", end="\n" if done == total else "", file=self.err)

    def run(self, out: TextIO, dry_run: bool = False) -> int:
        """Shows what is parked; unless `dry_run`, replays it. Returns how many messages stay parked."""
        parked = receive_all(self.sqs, self.url, 30 if dry_run else HOLD_SECONDS)
        describe(self.queue, parked, out)
        if self.queue == "PublishFailuresQueue":
            waiting = list(self.scores.unpublished())
            print(f"  {len(waiting)} stage change(s) not yet published", file=out)
        if dry_run:
            release(self.sqs, self.url, parked)
            return len(parked)
        if self.queue == "PublishFailuresQueue":
            left = self._publish(parked, out)
        else:
            left = self._replay_each(parked, out)
        release(self.sqs, self.url, left)
        print(f"{self.queue}: {len(parked) - len(left)} resolved, {len(left)} still parked", file=out)
        return len(left)

    def _delete(self, p: Parked) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=p.receipt)

    def _replay_each(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        left = []
        for n, p in enumerate(parked, 1):
            try:
                if self.queue == "NotifyFailuresQueue":
                    event = p.body.get("requestPayload", p.body)
                    _succeeded(self.invoke(QUEUES[self.queue], event))
                else:
                    self._rescore(p)
                self._delete(p)
            except Exception as exc:
                print(f"  still failing: {p.message_id}: {exc}", file=out)
                left.append(p)
            self._progress(n, len(parked), "replayed")
        return left

    def _rescore(self, p: Parked) -> None:
        batch = p.body.get("DDBStreamBatchInfo")
        if not batch:
            raise ReplayFailed("not a stream batch failure (no DDBStreamBatchInfo)")
        if self.streams is None:
            raise ReplayFailed("no stream client")
        behaviour = [
            r for r in (_behaviour(r, batch["streamArn"]) for r in _stream_records(self.streams, batch)) if r
        ]
        for start in range(0, len(behaviour), SCORE_BATCH):
            _succeeded(self.invoke("ScoreFunction", {"Records": behaviour[start : start + SCORE_BATCH]}))

    def _publish(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        """Every unpublished stage change through PublishFunction; the parked messages go once none is
        left (they name stream ranges, not changes, so they are resolved only all together)."""
        waiting = list(self.scores.unpublished())
        failed = 0
        for n, (raw, _, transition) in enumerate(waiting, 1):
            try:
                _succeeded(self.invoke("PublishFunction", {"Records": [_transition_record(raw, n)]}))
            except Exception as exc:
                failed += 1
                print(f"  still failing: {transition.id}: {exc}", file=out)
            self._progress(n, len(waiting), "stage changes published")
        if failed or any(True for _ in self.scores.unpublished()):
            return parked
        for p in parked:
            self._delete(p)
        return []


# --- the command line ----------------------------------------------------------------------------------


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    redrive = commands.add_parser(
        "redrive",
        help="show and replay what a failures queue holds",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    redrive.add_argument("queue", choices=list(QUEUES))
    redrive.add_argument("--dry-run", action="store_true", help="only show what is parked, and why")


def _local(target: targets.Target) -> tuple[str, Invoke, Callable[[], None]]:
    """The queue URL prefix's stack, and an invoker running the template's functions in this process."""
    from pathlib import Path

    from local.environment import REGION, local_overrides
    from local.runner import STACK
    from local.template import load_stack
    from local.workers import Worker, request_payload

    notifications = Path(__file__).resolve().parent.parent / ".local" / "notifications.jsonl"
    stack = load_stack(
        STACK,
        REGION,
        {"StageName": "local", "LocalAwsEndpoint": target.endpoint or ""},
        local_overrides(region=REGION, notifications_file=notifications),
    )
    workers: dict[str, Any] = {}

    def invoke(function: str, event: dict[str, Any]) -> Any:
        if function not in workers:
            workers[function] = Worker(stack.functions[function])
        worker = workers[function]
        return worker.invoke(request_payload(worker.function, event))

    def stop() -> None:
        for worker in workers.values():
            worker.stop()

    return stack.name, invoke, stop


def _deployed(stack_name: str, region: str | None) -> tuple[Callable[[str], str], Invoke]:
    cloudformation = boto3.client("cloudformation", region_name=region)
    lambdas = boto3.client("lambda", region_name=region)

    def physical(logical_id: str) -> str:
        resource = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])

    def invoke(function: str, event: dict[str, Any]) -> Any:
        answer = lambdas.invoke(FunctionName=physical(function), Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise ReplayFailed(f"{function} failed: {(payload or {}).get('errorMessage', payload)}")
        return payload

    return physical, invoke


def run(args: argparse.Namespace, target: targets.Target) -> int:
    endpoint, region = target.endpoint, target.region
    sqs = boto3.client("sqs", region_name=region, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint)
    stop: Callable[[], None] = lambda: None  # noqa: E731
    if args.stack:
        physical, invoke = _deployed(args.stack, region)
        url = physical(args.queue)
    else:
        stack_name, invoke, stop = _local(target)
        url = sqs.get_queue_url(QueueName=f"{stack_name}-{args.queue}")["QueueUrl"]
    try:
        redrive = Redrive(args.queue, sqs, url, ScoreRepository(target.leads_table), invoke, streams)
        left = redrive.run(sys.stdout, dry_run=args.dry_run)
    finally:
        stop()
    return 1 if left else 0
