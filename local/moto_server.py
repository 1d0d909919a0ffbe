"""The embedded local AWS: moto in server mode, with DynamoDB's requests applied one at a time.

DynamoDB applies each request atomically. moto, serving requests on many threads, does not: its
TransactWriteItems copies the tables it may roll back, and a rollback restores that copy, undoing a write
another thread made meanwhile (seen as "dictionary changed size during iteration" and a lost link under
concurrent identifies). Requests to DynamoDB and DynamoDB Streams therefore go through one lock: the
functions still run concurrently, and each storage request is atomic, as on AWS. Other services (SQS long
polls among them) are served as moto serves them.

That rollback also replaces the table's stream shard by the copy's: a stream reader's shard iterator then
reads a shard nothing is written to any more, and every function the stream feeds stops (seen under a
simulation's hundreds of concurrent leads, where scoring's conditional transactions sometimes fail). After
a TransactWriteItems the tables keep their shard objects, holding what the rolled-back copy holds: a
cancelled transaction leaves no stream records, as on AWS, and readers go on reading.
"""

import threading
from collections.abc import Callable, Iterable
from copy import copy
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard
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
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB"):
            return self.app(environ, start_response)
        with self.lock:
            if not target.endswith(".TransactWriteItems"):
                return list(self.app(environ, start_response))
            shards = _stream_shards()
            try:
                return list(self.app(environ, start_response))
            finally:
                _keep_stream_shards(shards)


def _copy_of_shard(shard: StreamShard, memo: dict[int, Any]) -> StreamShard:
    """What TransactWriteItems' copy of a table holds as its shard: its records (immutable once written)
    in a list of its own."""
    copied = copy(shard)
    copied.items = list(shard.items)
    memo[id(shard)] = copied
    return copied


StreamShard.__deepcopy__ = _copy_of_shard  # type: ignore[attr-defined]


def _tables() -> Iterable[Any]:
    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            yield from list(backend.tables.values())


def _stream_shards() -> dict[str, Any]:
    """Each streaming table's shard object, by table ARN."""
    return {table.table_arn: table.stream_shard for table in _tables() if table.stream_shard is not None}


def _keep_stream_shards(before: dict[str, Any]) -> None:
    """Tables whose shard a rollback replaced get their own back, with the restored copy's records."""
    for table in _tables():
        shard = before.get(table.table_arn)
        if shard is None or table.stream_shard is None or table.stream_shard is shard:
            continue
        shard.items, shard.table = table.stream_shard.items, table
        table.stream_shard = shard


class LocalAws(ThreadedMotoServer):
    """ThreadedMotoServer (moto 5.x) with its application wrapped in `OneDynamoDbRequestAtATime`."""

    def _server_entry(self) -> None:
        app = OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
