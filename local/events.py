"""Delivery of DynamoDB stream records and bus events to functions, as Lambda's pollers do it.

A stream subscription delivers one batch per shard at a time, in order (shards in parallel); a rule's
events are invoked asynchronously, several at once, up to the function's pool of environments.
"""

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.template import ACCOUNT, ApiDestinationRule, BusRule, Stack, StreamSubscription
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
    """A bus event as EventBridge puts it on the bus: moto's queue copy lacks some envelope fields."""
    return {"account": ACCOUNT, "region": region, "resources": [], **event}


_PATH_STEP = re.compile(r"\.([A-Za-z0-9_\-/]+)|\[(\d+)\]")
_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """The value at an EventBridge JSON path (`$`, `$.detail.lead_id`, `$.resources[0]`); _MISSING if none.
    Wildcards are not supported here: a path with one is an error, not a guess."""
    if not path.startswith("$"):
        raise ValueError(f"a JSON path starts with $: {path!r}")
    value, at = document, 1
    for step in _PATH_STEP.finditer(path, 1):
        if step.start() != at:
            break
        key, index = step.groups()
        if key is not None and isinstance(value, dict) and key in value:
            value = value[key]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
        at = step.end()
    if at != len(path):
        raise ValueError(f"unsupported JSON path {path!r} (dot notation and [index] only)")
    return value


def _in_string(template: str, position: int) -> bool:
    """Whether `position` of a JSON template is inside a string literal."""
    inside = escaped = False
    for char in template[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = inside
        elif char == '"':
            inside = not inside
    return inside


def _as_text(value: Any) -> str:
    """A value inside a string of the template: as is for a string (EventBridge does not escape it), JSON
    without its quotes for an object or array, JSON for the rest."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value).replace('"', "")
    return json.dumps(value)


def transformed(transformer: dict[str, Any], event: dict[str, Any], rule_name: str, rule_arn: str) -> Any:
    """EventBridge's input transformer: each `<name>` of InputTemplate replaced by the value at its
    InputPathsMap path (or a predefined `aws.events.*` variable). In a JSON template, a placeholder inside a
    string is replaced by the value's text, one outside by its JSON; a path with no value gives null there
    and nothing inside a string. The result is the JSON the template makes, else the text itself."""
    variables: dict[str, Any] = {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": event.get("time", ""),
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        variables[name] = json_path(event, path)
    template = str(transformer["InputTemplate"])
    is_json = template.lstrip().startswith(("{", "["))

    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in variables:
            return found.group(0)  # not a variable: left as written
        value = variables[name]
        if is_json and not _in_string(template, found.start()):
            return "null" if value is _MISSING else json.dumps(value)
        return "" if value is _MISSING else _as_text(value)

    text = re.sub(r"<([A-Za-z0-9_.\-]+)>", fill, template)
    if not is_json:
        return text
    return json.loads(text)


def target_input(rule: BusRule | ApiDestinationRule, event: dict[str, Any], region: str) -> Any:
    """What a rule's target receives for an event (Input, InputPath or InputTransformer; else the event)."""
    rule_arn = rule_arn_of(rule, region)
    if rule.input is not None:
        return json.loads(rule.input)
    if rule.input_path is not None:
        value = json_path(event, rule.input_path)
        return None if value is _MISSING else value
    if rule.input_transformer is not None:
        return transformed(rule.input_transformer, event, rule.name, rule_arn)
    return event


def rule_arn_of(rule: BusRule | ApiDestinationRule, region: str) -> str:
    return f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule.bus}/{rule.name}"


def _arrival(record: dict[str, Any]) -> str:
    seconds = record["dynamodb"].get("ApproximateCreationDateTime") or time.time()
    return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parked_batch(
    function: str, batch: list[dict[str, Any]], shard_id: str, stream_arn: str, attempts: int
) -> dict[str, Any]:
    """What Lambda's on-failure destination receives for a stream batch it gave up on: where the records
    are and when they arrived, not the records."""
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _arrival(batch[0]),
            "approximateArrivalOfLastRecord": _arrival(batch[-1]),
            "batchSize": len(batch),
            "streamArn": stream_arn,
        },
    }


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
        info = parked_batch(self.sub.function, batch, shard_id, stream_arn, self.sub.max_retries + 1)
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
            event = as_delivered(json.loads(message["Body"]), self.region)
            self._deliver(target_input(self.rule, event, self.region))
            self.aws["sqs"].delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # the message comes back after its visibility timeout
            if not self.stop_event.is_set():
                self.log(f"{self.rule.name}: delivery error: {exc}")
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify()

    def _deliver(self, event: Any) -> None:
        """Lambda's asynchronous invoke: the first try plus the configured retries, then the destination."""
        failure_queue = self.queues[self.rule.on_failure_queue] if self.rule.on_failure_queue else None
        invoke_async(self.pool, event, self.rule.async_retries, failure_queue, self.aws["sqs"], self.log)


def invoke_async(
    pool: Pool, event: Any, retries: int, on_failure_url: str | None, sqs: Any, log: Log
) -> bool:
    """Lambda's asynchronous invocation of `pool`'s function: the first try plus `retries`, then the
    on-failure destination (a queue) gets the invocation record with the event. True if it succeeded."""
    function = pool.function.logical_id
    error = ""
    for attempt in range(retries + 1):
        try:
            pool.invoke(event)
            return True
        except (FunctionError, RequestTooLarge) as exc:
            error = str(exc)
            log(f"{function} failed (attempt {attempt + 1}):\n{exc}")
            time.sleep(0.2 * (attempt + 1))  # Lambda waits a minute, then two; locally a moment
    if on_failure_url:
        record = {
            "version": "1.0",
            "requestContext": {
                "functionArn": function,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": retries + 1,
            },
            "requestPayload": event,
            "responsePayload": {"errorMessage": error.strip().splitlines()[-1] if error else ""},
        }
        sqs.send_message(QueueUrl=on_failure_url, MessageBody=json.dumps(record))
        log(f"{function}: event parked in its on-failure destination")
    return False
