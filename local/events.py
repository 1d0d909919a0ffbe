"""Delivery of DynamoDB stream records and bus events to functions, as Lambda's pollers do it."""

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.template import ACCOUNT, BusRule, Stack, StreamSubscription
from local.workers import FunctionError, Worker

Log = Callable[[str], None]


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as Lambda hands it over (JSON-safe, with its event source ARN)."""
    record = dict(record)
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    record["dynamodb"] = ddb
    record["eventSourceARN"] = stream_arn
    return record


def as_delivered(event: dict[str, Any], region: str) -> dict[str, Any]:
    """A bus event as EventBridge hands it to a target: moto's queue copy lacks some envelope fields."""
    return {"account": ACCOUNT, "region": region, "resources": [], **event}


class StreamPoller(threading.Thread):
    """Reads a table's stream and invokes one subscribed function, honouring its event source mapping."""

    def __init__(
        self,
        stack: Stack,
        sub: StreamSubscription,
        worker: Worker,
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name=f"stream-{sub.function}")
        self.sub, self.worker, self.aws, self.queues, self.stop_event, self.log = (
            sub,
            worker,
            aws,
            queues,
            stop,
            log,
        )
        self.table = stack.physical_name(sub.table)
        self.iterators: dict[str, str | None] = {}

    def _refresh_shards(self, stream_arn: str) -> None:
        streams = self.aws["dynamodbstreams"]
        for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def run(self) -> None:
        stream_arn = self.aws["dynamodb"].describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        while not self.stop_event.is_set():
            try:
                self._refresh_shards(stream_arn)
                for shard_id, iterator in list(self.iterators.items()):
                    if iterator:
                        self._poll_shard(shard_id, iterator, stream_arn)
            except (
                Exception
            ) as exc:  # keep polling: an operator sees the error, the records stay in the stream
                if not self.stop_event.is_set():
                    self.log(f"{self.sub.function}: stream polling error: {exc}")
            self.stop_event.wait(0.1)

    def _poll_shard(self, shard_id: str, iterator: str, stream_arn: str) -> None:
        response = self.aws["dynamodbstreams"].get_records(ShardIterator=iterator, Limit=1000)
        self.iterators[shard_id] = response.get("NextShardIterator")
        records = [lambda_record(r, stream_arn) for r in response["Records"]]
        records = [r for r in records if self.sub.matches(r)]  # filtered records never reach the function
        for start in range(0, len(records), self.sub.batch_size):
            self._deliver(records[start : start + self.sub.batch_size], shard_id, stream_arn)

    def _deliver(self, batch: list[dict[str, Any]], shard_id: str, stream_arn: str) -> None:
        attempts = 0
        while batch:
            try:
                result = self.worker.invoke({"Records": batch})
                failures = (
                    (result or {}).get("batchItemFailures", []) if self.sub.report_item_failures else []
                )
            except FunctionError as exc:
                self.log(f"{self.sub.function} failed on {len(batch)} record(s):\n{exc}")
                failures = [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
            if not failures:
                return
            failed = {f["itemIdentifier"] for f in failures}
            first = next(i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed)
            batch = batch[first:]  # retry from the checkpoint, as Lambda does
            attempts += 1
            if attempts > self.sub.max_retries:
                self._park(batch, shard_id, stream_arn)
                return
            time.sleep(min(0.2 * attempts, 2))

    def _park(self, batch: list[dict[str, Any]], shard_id: str, stream_arn: str) -> None:
        self.log(
            f"{self.sub.function}: gave up on {len(batch)} record(s) after retries; parked them in the DLQ"
        )
        if not self.sub.on_failure_queue:
            return
        info = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.sub.function},
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": stream_arn,
            },
        }
        self.aws["sqs"].send_message(
            QueueUrl=self.queues[self.sub.on_failure_queue], MessageBody=json.dumps(info)
        )


class BusDelivery(threading.Thread):
    """Drains a rule's delivery queue into its target function (asynchronous invoke, with retries and DLQ)."""

    def __init__(
        self,
        rule: BusRule,
        queue_url: str,
        worker: Worker,
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name=f"bus-{rule.name}")
        self.rule, self.queue_url, self.worker, self.aws, self.queues = rule, queue_url, worker, aws, queues
        self.stop_event, self.log = stop, log
        self.region = aws["sqs"].meta.region_name

    def run(self) -> None:
        sqs = self.aws["sqs"]
        while not self.stop_event.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception as exc:
                if not self.stop_event.is_set():
                    self.log(f"{self.rule.name}: delivery queue error: {exc}")
                self.stop_event.wait(0.5)
                continue
            for message in messages:
                self._deliver(as_delivered(json.loads(message["Body"]), self.region))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, event: dict[str, Any]) -> None:
        """Lambda's asynchronous invoke: the first try plus the configured retries, then the destination."""
        error = ""
        for attempt in range(self.rule.async_retries + 1):
            try:
                self.worker.invoke(event)
                return
            except FunctionError as exc:
                error = str(exc)
                self.log(f"{self.rule.function} failed (attempt {attempt + 1}):\n{exc}")
                time.sleep(0.2 * (attempt + 1))  # Lambda waits a minute, then two; locally a moment
        if self.rule.on_failure_queue:
            record = {
                "version": "1.0",
                "requestContext": {
                    "functionArn": self.rule.function,
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": self.rule.async_retries + 1,
                },
                "requestPayload": event,
                "responsePayload": {"errorMessage": error.strip().splitlines()[-1] if error else ""},
            }
            self.aws["sqs"].send_message(
                QueueUrl=self.queues[self.rule.on_failure_queue], MessageBody=json.dumps(record)
            )
            self.log(f"{self.rule.function}: event parked in {self.rule.on_failure_queue}")
