"""One process per function, like a Lambda execution environment: own environment, one request at a time."""

import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.template import REPO, Function


@dataclass
class LambdaContext:
    """What the Lambda runtime hands a handler as `context` (the fields Powertools reads)."""

    function_name: str = "local-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:local-function"
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline_ms: float = field(default_factory=lambda: time.time() * 1000 + 10_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


def _serve(function: Function, conn: Connection, log_path: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the runner stops us
    if log_path:  # the function's own output (Powertools JSON logs, EMF) goes to its log file
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
    os.environ.update(function.environment)
    sys.path[:0] = [str(function.code_uri), str(REPO / "layers" / "common")]
    module_name, handler_name = function.handler.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), handler_name)
        conn.send(("ready", None))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return
        context = LambdaContext(
            function_name=function.environment["AWS_LAMBDA_FUNCTION_NAME"],
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=f"arn:aws:lambda:local:123456789012:function:{function.logical_id}",
            deadline_ms=time.time() * 1000 + function.timeout * 1000,
        )
        try:
            conn.send(("ok", handler(event, context)))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class FunctionError(Exception):
    """The handler raised: what Lambda reports as a function error."""


class Worker:
    def __init__(self, function: Function, log_path: Path | None = None) -> None:
        self.function = function
        self._lock = threading.Lock()
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve,
            args=(function, child, str(log_path) if log_path else None),
            daemon=True,
            name=function.logical_id,
        )
        self._process.start()
        status, detail = self._conn.recv()
        if status != "ready":
            raise RuntimeError(f"{function.logical_id} failed to start:\n{detail}")

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self._conn.send(event)
            if not self._conn.poll(self.function.timeout + 5):
                raise FunctionError(f"{self.function.logical_id} timed out after {self.function.timeout}s")
            status, result = self._conn.recv()
        if status == "error":
            raise FunctionError(result)
        return result

    def stop(self) -> None:
        self._conn.close()
        self._process.terminate()
        self._process.join(timeout=5)
