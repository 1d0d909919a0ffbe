"""The embedded local AWS: moto in server mode, with DynamoDB's requests applied one at a time.

DynamoDB applies each request atomically. moto, serving requests on many threads, does not: its
TransactWriteItems copies the tables it may roll back, and a rollback restores that copy, undoing a write
another thread made meanwhile (seen as "dictionary changed size during iteration" and a lost link under
concurrent identifies). Requests to DynamoDB and DynamoDB Streams therefore go through one lock: the
functions still run concurrently, and each storage request is atomic, as on AWS. Other services (SQS long
polls among them) are served as moto serves them.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

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


class LocalAws(ThreadedMotoServer):
    """ThreadedMotoServer (moto 5.x) with its application wrapped in `OneDynamoDbRequestAtATime`."""

    def _server_entry(self) -> None:
        app = OneDynamoDbRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
