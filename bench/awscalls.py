"""Inside a function's process: every AWS call its handler makes, seen through botocore's event hooks.

`Recorder.install()` runs before the handler is imported; from then on every botocore client created in
the process (PynamoDB's, boto3's, Powertools' idempotency and parameters clients) gets the hooks, and
`attach_existing()` adds them to clients made earlier. Nothing in the function's code is changed or
asked: the figures come from the requests that actually go to AWS.

For each DynamoDB call the recorder works out what DynamoDB bills for it (on-demand request units):

* writes: 1 unit per started KB of the larger of the item's size before and after the write (PutItem,
  UpdateItem), of the deleted item (DeleteItem), per item of a BatchWriteItem (unprocessed items left
  out); a conditional write that fails costs the units of the item as it is (at least 1); twice as much
  in a transaction. Before and after images are read with a separate, unrecorded client.
* reads: per item, 1 unit per started 4 KB strongly consistent, half that eventually consistent; an item
  that does not exist costs the minimum; BatchGetItem rounds every item separately; Query and Scan round
  the total of the items returned; twice as much in a transaction. Sizes are those of whole items, as
  DynamoDB bills them, even when a projection returned less.

It also times every attempt of every call from `before-send` to `needs-retry` (the request on the wire),
and can sleep a fixed latency at the start of each DynamoDB attempt (in `before-send`, a round trip to
DynamoDB), keeping those intervals apart, so that "DynamoDB waiting" (wall-clock time with at least one
DynamoDB request in flight, over all threads) can be computed both as measured and as the injected round
trips alone.
"""

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session

WRITE_OPS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
CONDITION_FAILED = {"ConditionalCheckFailedException", "TransactionCanceledException"}
Key = dict[str, dict[str, Any]]
Interval = tuple[float, float]


# --- sizes and units --------------------------------------------------------------------------------


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        digits = str(raw).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    return sum(_value_size({kind[0]: v}) for v in raw)  # NS, BS


def item_size(item: Key | None) -> int:
    """Bytes of an item as DynamoDB bills them: attribute names plus values (0: no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def _prefix(value: str) -> str:
    """The kind part of a key value: 'LEAD#L6af..' -> 'LEAD#', 'STATE' -> 'STATE', an id -> '*'.
    Powertools idempotency keys ('<function>.<qualified name>#<hash>') give '<qualified name>#'."""
    if "#" in value:
        head = value.split("#", 1)[0]
        return (head.split(".", 1)[1] if "." in head else head) + "#"
    return value if value.isupper() and len(value) <= 24 else "*"


def item_kind(key: Key) -> str:
    parts = []
    for value in key.values():
        ((kind, raw),) = value.items()
        parts.append(_prefix(str(raw)) if kind == "S" else "*")
    return "/".join(parts)


def union_seconds(intervals: list[Interval]) -> float:
    """Wall-clock seconds covered by at least one interval."""
    total, end = 0.0, -math.inf
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


# --- a concurrent DynamoDB stand-in -----------------------------------------------------------------

# What DynamoDB answers when nothing is there yet and every write succeeds: enough for ScoreFunction on a
# batch of new leads (BatchGetItem finds nothing, each conditional PutItem passes).
_STAND_IN_BODIES = {
    "GetItem": b"{}",
    "PutItem": b"{}",
    "UpdateItem": b'{"Attributes": {}}',
    "BatchWriteItem": b'{"UnprocessedItems": {}}',
    "TransactWriteItems": b"{}",
}


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _stand_in_answer(url: str, operation: str, body: bytes | str | None) -> Any:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    if operation == "BatchGetItem":  # nothing found, in every table asked
        tables = json.loads(body or "{}").get("RequestItems", {})
        content = json.dumps({"Responses": {t: [] for t in tables}, "UnprocessedKeys": {}}).encode()
    elif operation in _STAND_IN_BODIES:
        content = _STAND_IN_BODIES[operation]
    else:
        raise RuntimeError(f"the DynamoDB stand-in does not answer {operation}")
    headers = HTTPHeaders()
    headers["content-type"] = "application/x-amz-json-1.0"
    headers["x-amzn-requestid"] = "bench-stand-in"
    return AWSResponse(url, 200, headers, _Body(content))


# --- the recorder -----------------------------------------------------------------------------------


class Recorder:
    """Records every AWS call made through botocore in this process (thread-safe)."""

    def __init__(self) -> None:
        self.costing = True  # look up item sizes and work out units (costs time, measured apart)
        self.latency = 0.0  # seconds slept in before-send of every DynamoDB request
        # Answer DynamoDB requests here, after the latency, instead of sending them: a DynamoDB that serves
        # requests concurrently (moto answers one at a time), for timing a function's own concurrency.
        self.stand_in = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._calls: list[dict[str, Any]] = []
        self._lookups: list[Interval] = []
        self._schemas: dict[str, list[str]] = {}
        self._create = botocore.session.Session.create_client
        self._raw: Any = None
        self._attached: set[int] = set()

    # installation

    def install(self) -> None:
        recorder, create = self, self._create

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = create(session, *args, **kwargs)
            recorder.attach(client)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def attach_existing(self) -> int:
        """Hooks on the clients already alive (made before install); returns how many."""
        import gc

        from botocore.client import BaseClient

        found = [o for o in gc.get_objects() if isinstance(o, BaseClient)]
        for client in found:
            self.attach(client)
        return len(found)

    def attach(self, client: Any) -> None:
        if id(client) in self._attached or client is self._raw:
            return
        self._attached.add(id(client))
        events = client.meta.events
        events.register("before-parameter-build", self._before_parameter_build)
        events.register("before-call", self._before_call)
        events.register("before-send", self._before_send)
        events.register("needs-retry", self._needs_retry)
        events.register("after-call", self._after_call)
        events.register("after-call-error", self._after_call_error)

    def _lookup_client(self) -> Any:
        """A client of its own, never recorded, for reading item sizes."""
        if self._raw is None:
            self._raw = self._create(botocore.session.get_session(), "dynamodb")
        return self._raw

    def take(self) -> tuple[list[dict[str, Any]], list[Interval]]:
        """The calls recorded since the last take, and the intervals spent looking up item sizes."""
        with self._lock:
            calls, self._calls = self._calls, []
            lookups, self._lookups = self._lookups, []
        return calls, lookups

    # hooks

    def _before_parameter_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        call: dict[str, Any] = {
            "service": model.service_model.service_name,
            "op": model.name,
            "params": params,
            "attempts": [],
            "slept": [],
            "before": {},
            "thread": "handler"
            if threading.current_thread() is threading.main_thread()
            else threading.get_ident(),
        }
        context["bench_call"] = call
        self._local.call = call

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        call = context.get("bench_call")
        if call and self.costing and call["service"] == "dynamodb" and call["op"] in WRITE_OPS:
            self._timed(lambda: call.__setitem__("before", self._images(self._written_keys(call))))

    def _before_send(self, event_name: str, request: Any = None, **_: Any) -> Any:
        sent = self._local.sent = time.perf_counter()
        call = getattr(self._local, "call", None)
        if self.latency and event_name.startswith("before-send.dynamodb."):
            time.sleep(self.latency)
            if call is not None:
                call["slept"].append((sent, time.perf_counter()))
        if self.stand_in and event_name.startswith("before-send.dynamodb.") and request is not None:
            operation = event_name.rsplit(".", 1)[-1]
            return _stand_in_answer(request.url, operation, request.body)
        return None

    def _needs_retry(self, **_: Any) -> None:
        call, sent = getattr(self._local, "call", None), getattr(self._local, "sent", None)
        if call is not None and sent is not None:
            call["attempts"].append((sent, time.perf_counter()))
            self._local.sent = None

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        call = context.pop("bench_call", None)
        if call is None:
            return
        error = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
        self._finish(call, parsed, error)

    def _after_call_error(self, exception: Exception, context: dict[str, Any], **_: Any) -> None:
        call = context.pop("bench_call", None)
        if call is not None:
            self._finish(call, {}, type(exception).__name__)

    # accounting

    def _timed(self, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            work()
        finally:
            with self._lock:
                self._lookups.append((started, time.perf_counter()))

    def _finish(self, call: dict[str, Any], parsed: dict[str, Any], error: str | None) -> None:
        summary: dict[str, Any] = {
            "service": call["service"],
            "op": call["op"],
            "error": error,
            "attempts": call["attempts"],
            "slept": call["slept"],
            "thread": call["thread"],
            "writes": [],
            "reads": [],
        }
        if call["service"] == "dynamodb" and self.costing:
            if call["op"] in WRITE_OPS:
                self._timed(lambda: summary.__setitem__("writes", self._write_costs(call, parsed, error)))
            elif call["op"] in READ_OPS and error is None:
                self._timed(lambda: summary.__setitem__("reads", self._read_costs(call, parsed)))
        if call["op"] == "PutEvents":
            summary["entries"] = [
                {k: e.get(k) for k in ("Source", "DetailType", "Detail", "EventBusName", "Resources")}
                for e in call["params"].get("Entries", [])
            ]
            summary["failed_entries"] = int(parsed.get("FailedEntryCount", 0) or 0)
        with self._lock:
            self._calls.append(summary)
        self._local.call = None

    def _schema(self, table: str) -> list[str]:
        if table not in self._schemas:
            described = self._lookup_client().describe_table(TableName=table)["Table"]["KeySchema"]
            hash_first = sorted(described, key=lambda k: k["KeyType"] != "HASH")
            self._schemas[table] = [k["AttributeName"] for k in hash_first]
        return self._schemas[table]

    def _key(self, table: str, item: Key) -> Key:
        return {name: item[name] for name in self._schema(table)}

    def _images(self, keys: list[tuple[str, Key]]) -> dict[str, Key]:
        """Whole items now in the table, by (table, key) id; absent items are missing from the result."""
        found: dict[str, Key] = {}
        pending: dict[str, list[Key]] = {}
        for table, key in keys:
            pending.setdefault(table, []).append(key)
        client = self._lookup_client()
        for table, table_keys in pending.items():
            unique = list({_key_id(table, k): k for k in table_keys}.values())
            for start in range(0, len(unique), 100):
                request: dict[str, Any] = {
                    table: {"Keys": unique[start : start + 100], "ConsistentRead": True}
                }
                while request:
                    answer = client.batch_get_item(RequestItems=request)
                    for item in answer.get("Responses", {}).get(table, []):
                        found[_key_id(table, self._key(table, item))] = item
                    request = answer.get("UnprocessedKeys") or {}
        return found

    def _written_keys(self, call: dict[str, Any]) -> list[tuple[str, Key]]:
        params, op = call["params"], call["op"]
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            return [(table, self._key(table, params["Item"]) if op == "PutItem" else params["Key"])]
        keys: list[tuple[str, Key]] = []
        if op == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        keys.append((table, self._key(table, request["PutRequest"]["Item"])))
                    else:
                        keys.append((table, request["DeleteRequest"]["Key"]))
        if op == "TransactWriteItems":
            for action in params["TransactItems"]:
                ((kind, spec),) = action.items()
                table = spec["TableName"]
                keys.append((table, self._key(table, spec["Item"]) if kind == "Put" else spec["Key"]))
        return keys

    def _write_costs(
        self, call: dict[str, Any], parsed: dict[str, Any], error: str | None
    ) -> list[tuple[str, str, int]]:
        """(table, item kind, write units) for each item the call wrote or tried to write."""
        if error is not None and error not in CONDITION_FAILED:
            return []  # throttled or invalid: not billed
        params, op, before = call["params"], call["op"], call["before"]
        keys = self._written_keys(call)
        unprocessed: set[str] = set()
        for table, requests in (parsed.get("UnprocessedItems") or {}).items():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get(
                    "Key"
                )
                unprocessed.add(_key_id(table, self._key(table, item)))
        new_items: dict[str, int] = {}  # sizes of items the request itself carries (puts)
        if op == "PutItem":
            new_items[_key_id(keys[0][0], keys[0][1])] = item_size(params["Item"])
        for table, requests in (params.get("RequestItems") or {}).items() if op == "BatchWriteItem" else ():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    new_items[_key_id(table, self._key(table, item))] = item_size(item)
        for action in params.get("TransactItems", []) if op == "TransactWriteItems" else ():
            if "Put" in action:
                table, item = action["Put"]["TableName"], action["Put"]["Item"]
                new_items[_key_id(table, self._key(table, item))] = item_size(item)
        updated = [(t, k) for t, k in keys if _key_id(t, k) not in new_items] if error is None else []
        after = self._images(updated) if op in ("UpdateItem", "TransactWriteItems") and updated else {}
        factor = 2 if op == "TransactWriteItems" else 1
        costs = []
        for table, key in keys:
            key_id = _key_id(table, key)
            if key_id in unprocessed:
                continue
            size_before = item_size(before.get(key_id))
            if error is None:
                size_after = new_items.get(key_id, item_size(after.get(key_id)))
                size = max(size_before, size_after)
            else:
                size = size_before
            costs.append((table, item_kind(key), write_units(size) * factor))
        return costs

    def _read_costs(self, call: dict[str, Any], parsed: dict[str, Any]) -> list[tuple[str, str, float]]:
        """(table, item kind, read units) for each item read (Query/Scan: one line per table)."""
        params, op = call["params"], call["op"]
        costs: list[tuple[str, str, float]] = []
        if op == "GetItem":
            table, key = params["TableName"], params["Key"]
            item = parsed.get("Item")
            if item is not None and _projected(params):
                item = self._images([(table, key)]).get(_key_id(table, key))
            consistent = bool(params.get("ConsistentRead"))
            costs.append((table, item_kind(key), read_units(item_size(item), consistent)))
        elif op in ("BatchGetItem", "TransactGetItems"):
            if op == "BatchGetItem":
                wanted = [
                    (table, key, bool(spec.get("ConsistentRead")), _projected(spec))
                    for table, spec in params["RequestItems"].items()
                    for key in spec["Keys"]
                ]
                returned = parsed.get("Responses", {})
                unprocessed = {
                    _key_id(table, key)
                    for table, spec in (parsed.get("UnprocessedKeys") or {}).items()
                    for key in spec["Keys"]
                }
            else:
                wanted = [
                    (g["Get"]["TableName"], g["Get"]["Key"], True, True) for g in params["TransactItems"]
                ]
                returned, unprocessed = {}, set()
            got = {
                _key_id(table, self._key(table, item)): item
                for table, items in returned.items()
                for item in items
            }
            full = self._images([(t, k) for t, k, _, projected in wanted if projected])
            for table, key, consistent, projected in wanted:
                key_id = _key_id(table, key)
                if key_id in unprocessed:
                    continue
                item = full.get(key_id) if projected else got.get(key_id)
                units = read_units(item_size(item), consistent)
                costs.append((table, item_kind(key), units * (2 if op == "TransactGetItems" else 1)))
        else:  # Query, Scan: the whole result rounded once
            table = params["TableName"]
            items = parsed.get("Items", [])
            if _projected(params) or params.get("Select") == "COUNT":
                items = list(self._images([(table, self._key(table, i)) for i in items]).values())
            total = sum(item_size(i) for i in items)
            kinds = sorted({item_kind(self._key(table, i)) for i in items}) or ["(none)"]
            costs.append((table, ",".join(kinds), read_units(total, bool(params.get("ConsistentRead")))))
        return costs


def _projected(params: dict[str, Any]) -> bool:
    return bool(params.get("ProjectionExpression") or params.get("AttributesToGet"))


def _key_id(table: str, key: Key) -> str:
    parts = [table]
    for name in sorted(key):
        ((kind, raw),) = key[name].items()
        parts.append(f"{name}={kind}:{raw!r}")
    return "|".join(parts)
