"""Delivery of DynamoDB stream records and bus events to functions, as Lambda's pollers do it.

A stream subscription delivers one batch per shard at a time, in order (shards in parallel); a rule's
events are invoked asynchronously, several at once, up to the function's pool of environments.
"""

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local.template import ACCOUNT, BusRule, Stack, StreamSubscription
from local.workers import FunctionError, Pool, RequestTooLarge

Log = Callable[[str], None]


def _json_safe(value: Any) -> Any:
    """Binary attribute values (B, BS) as Lambda hands them over: base64 strings."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record as Lambda hands it over (JSON-safe, with its event source ARN)."""
    record = dict(record)
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    record["dynamodb"] = _json_safe(ddb)
    record["eventSourceARN"] = stream_arn
    return record


def stream_records(aws: dict[str, Any], table_name: str) -> list[dict[str, Any]]:
    """Every record on a table's stream so far, in Lambda's shape."""
    ddb, streams = aws["dynamodb"], aws["dynamodbstreams"]
    arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            records += [lambda_record(r, arn) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


# Who made a change, as a stream record says it when the DynamoDB service deleted an expired item (TTL).
TTL_DELETER = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def as_ttl_removal(record: dict[str, Any]) -> dict[str, Any]:
    """A REMOVE record as AWS sends it when the TTL deleted the item (moto runs no TTL deletes: delete
    the item, then make its REMOVE record the service's)."""
    if record.get("eventName") != "REMOVE":
        raise ValueError("only a REMOVE record can be a TTL deletion")
    return {**record, "userIdentity": dict(TTL_DELETER)}


def as_delivered(event: dict[str, Any], region: str) -> dict[str, Any]:
    """A bus event as EventBridge hands it to a target: moto's queue copy lacks some envelope fields."""
    return {"account": ACCOUNT, "region": region, "resources": [], **event}


class StreamPoller(threading.Thread):
    """Reads a table's stream for one subscribed function, honouring its event source mapping: a thread per
    shard, each delivering one batch at a time, in order."""

    def __init__(
        self,
        stack: Stack,
        sub: StreamSubscription,
        pool: Pool,
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name=f"stream-{sub.function}")
        self.sub, self.pool, self.aws, self.queues, self.stop_event, self.log = (
            sub,
            pool,
            aws,
            queues,
            stop,
            log,
        )
        self.table = stack.physical_name(sub.table)
        self.shards: dict[str, threading.Thread] = {}

    def run(self) -> None:
        streams = self.aws["dynamodbstreams"]
        stream_arn = ""
        while not self.stop_event.is_set():
            try:
                if not stream_arn:
                    table = self.aws["dynamodb"].describe_table(TableName=self.table)["Table"]
                    stream_arn = table["LatestStreamArn"]
                for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
                    if shard["ShardId"] not in self.shards:
                        thread = threading.Thread(
                            target=self._poll_shard,
                            args=(shard["ShardId"], stream_arn),
                            daemon=True,
                            name=f"stream-{self.sub.function}-{shard['ShardId'][-8:]}",
                        )
                        self.shards[shard["ShardId"]] = thread
                        thread.start()
            except Exception as exc:  # keep polling: an operator sees the error
                if not self.stop_event.is_set():
                    self.log(f"{self.sub.function}: stream polling error: {exc}")
            self.stop_event.wait(1.0)

    def _poll_shard(self, shard_id: str, stream_arn: str) -> None:
        streams = self.aws["dynamodbstreams"]
        iterator: str | None = None
        while not self.stop_event.is_set():
            try:
                if iterator is None:
                    iterator = streams.get_shard_iterator(
                        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
                response = streams.get_records(ShardIterator=iterator, Limit=1000)
            except Exception as exc:
                if not self.stop_event.is_set():
                    self.log(f"{self.sub.function}: stream polling error: {exc}")
                self.stop_event.wait(1.0)
                continue
            records = [lambda_record(r, stream_arn) for r in response["Records"]]
            records = [r for r in records if self.sub.matches(r)]  # filtered records never reach the function
            for start in range(0, len(records), self.sub.batch_size):
                self._deliver(records[start : start + self.sub.batch_size], shard_id, stream_arn)
            iterator = response.get("NextShardIterator")
            if not iterator:
                return  # a closed shard, read to its end
            if not response["Records"]:
                self.stop_event.wait(0.1)

    def _deliver(self, batch: list[dict[str, Any]], shard_id: str, stream_arn: str) -> None:
        attempts = 0
        while batch:
            try:
                result = self.pool.invoke({"Records": batch})
                failures = (
                    (result or {}).get("batchItemFailures", []) if self.sub.report_item_failures else []
                )
            except (FunctionError, RequestTooLarge) as exc:
                self.log(f"{self.sub.function} failed on {len(batch)} record(s):\n{exc}")
                failures = [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
            if not failures:
                return
            failed = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
            # an identifier not in the batch fails the whole batch, as in Lambda
            first = next((i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed), 0)
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
    """Drains a rule's delivery queue into its target function: Lambda's asynchronous invocation, with
    retries and the on-failure destination, several events at once (as many as the function's pool)."""

    def __init__(
        self,
        rule: BusRule,
        queue_url: str,
        pool: Pool,
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name=f"bus-{rule.name}")
        self.rule, self.queue_url, self.pool, self.aws, self.queues = rule, queue_url, pool, aws, queues
        self.stop_event, self.log = stop, log
        self.region = aws["sqs"].meta.region_name
        self._in_flight = 0
        self._changed = threading.Condition()
        # A message stays invisible while its event is handled, retries included.
        self._visibility = (self.pool.function.timeout + 1) * (self.rule.async_retries + 1) + 30

    def run(self) -> None:
        sqs = self.aws["sqs"]
        while not self.stop_event.is_set():
            with self._changed:
                while self._in_flight >= self.pool.size and not self.stop_event.is_set():
                    self._changed.wait(0.5)
                room = self.pool.size - self._in_flight
            if self.stop_event.is_set():
                return
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(10, room),
                    WaitTimeSeconds=1,
                    VisibilityTimeout=self._visibility,
                ).get("Messages", [])
            except Exception as exc:
                if not self.stop_event.is_set():
                    self.log(f"{self.rule.name}: delivery queue error: {exc}")
                self.stop_event.wait(0.5)
                continue
            for message in messages:
                with self._changed:
                    self._in_flight += 1
                threading.Thread(
                    target=self._handle_message, args=(message,), daemon=True, name=self.name
                ).start()

    def _handle_message(self, message: dict[str, Any]) -> None:
        try:
            self._deliver(as_delivered(json.loads(message["Body"]), self.region))
            self.aws["sqs"].delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # the message comes back after its visibility timeout
            if not self.stop_event.is_set():
                self.log(f"{self.rule.name}: delivery error: {exc}")
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify()

    def _deliver(self, event: dict[str, Any]) -> None:
        """Lambda's asynchronous invoke: the first try plus the configured retries, then the destination."""
        error = ""
        for attempt in range(self.rule.async_retries + 1):
            try:
                self.pool.invoke(event)
                return
            except (FunctionError, RequestTooLarge) as exc:
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
