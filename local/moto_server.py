"""The embedded local AWS: moto in server mode, with DynamoDB's requests applied one at a time.

DynamoDB applies each request atomically. moto, serving requests on many threads, does not: its
TransactWriteItems copies the tables it may roll back, and a rollback restores that copy, undoing a write
another thread made meanwhile (seen as "dictionary changed size during iteration" and a lost link under
concurrent identifies). Requests to DynamoDB and DynamoDB Streams therefore go through one lock: the
functions still run concurrently, and each storage request is atomic, as on AWS. Other services (SQS long
polls among them) are served as moto serves them.

That copy is also what made moto slow and broke its streams: each TransactWriteItems deep-copied every
table it named, items and stream records included (seconds, after a simulation's thousands of events,
while every other DynamoDB request waited), and a rollback swapped in the copy's stream shard, leaving
every stream reader on a shard nothing was written to any more (scoring stopped). Here a transaction
copies only the items it names, and a rollback puts those back and drops the stream records it made: the
same tables, the same shards, and a cancelled transaction leaves no stream record, as on AWS. Listing
every item (each Query of an index, each Scan) is moto's, in moto's order, with each key converted once.
"""

import copy
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server


class OneDynamoDbRequestAtATime:
    """WSGI middleware: a DynamoDB (or Streams) request runs, body included, while no other one does."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class _TablesNotCopied:
    """moto.dynamodb.models' `copy`, while a transaction runs: a table "copied" for a rollback is the
    table itself (the transaction keeps its own undo list); anything else is deep-copied as before."""

    active = False

    @classmethod
    def deepcopy(cls, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if cls.active and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    _TablesNotCopied.active = True
    try:
        yield
    finally:
        _TablesNotCopied.active = False


def _key(table: Table, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """The hash and range value of the item a transaction's operation names (None: moto refuses it)."""
    given = op.get("Item") if "Item" in op else op.get("Key")
    if not isinstance(given, dict) or table.hash_key_attr not in given:
        return None
    if table.range_key_attr and table.range_key_attr not in given:
        return None
    hash_value = DynamoType(given[table.hash_key_attr])
    range_value = DynamoType(given[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _put_back(table: Table, hash_value: Any, range_value: Any, original: Any) -> None:
    items: Any = table.items
    if range_value is None:
        if original is None:
            items.pop(hash_value, None)
        else:
            items[hash_value] = original
    elif original is None:
        items.get(hash_value, {}).pop(range_value, None)
    else:
        items[hash_value][range_value] = original


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, undone on failure from copies of the items it names only (one request at
    a time: OneDynamoDbRequestAtATime)."""
    undo: list[tuple[Table, Any, Any, Any]] = []
    shards: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        op = next(iter(entry.values()), None) if isinstance(entry, dict) else None
        table = self.tables.get(op.get("TableName", "")) if isinstance(op, dict) else None
        key = _key(table, op) if table is not None and isinstance(op, dict) else None
        if table is None or key is None:
            continue
        undo.append((table, *key, copy.deepcopy(table.get_item(*key))))
        if table.stream_shard is not None:
            shards.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
    with _tables_not_copied():
        try:
            _moto_transact_write_items(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, original in reversed(undo):
                _put_back(table, hash_value, range_value, original)
            for shard, length in shards.values():
                del shard.items[length:]
            raise


def _sort_key(value: DynamoType | None) -> tuple[str, Any]:
    return ("", "") if value is None else (value.type, value.cast_value)


def _all_items(self: Table) -> list[Any]:
    """moto's Table.all_items in the same order (by hash key, then range key), with each key's value
    computed once per item: moto compares DynamoType objects, which converts both values at every one of
    the n log n comparisons. Every Query of an index and every Scan goes through it: a few seconds per
    listing query after a simulation's thousands of items, now a fraction of one."""
    items: list[Any] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    if self.range_key_attr:
        return sorted(items, key=lambda item: (_sort_key(item.hash_key), _sort_key(item.range_key)))
    return sorted(items, key=lambda item: _sort_key(item.hash_key))


dynamodb_models.copy = _TablesNotCopied  # type: ignore[attr-defined,assignment]
DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
Table.all_items = _all_items  # type: ignore[method-assign]


class LocalAws(ThreadedMotoServer):
    """ThreadedMotoServer (moto 5.x) with its application wrapped in `OneDynamoDbRequestAtATime`."""

    def _server_entry(self) -> None:
        app = OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
