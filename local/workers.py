"""Functions run as Lambda runs them: each execution environment a process of its own, several per function.

A `Worker` is one execution environment: a process with the function's environment and code, which
imports the handler once (its cold start) and then handles one invocation at a time. An invocation that
runs past the function's Timeout is a timeout error, and its environment is stopped (Lambda does the
same): a late reply can never be read by the next invocation. A `Pool` is a function's environments: an
invocation takes an idle one, or starts a new one up to the pool's size, or waits for one to be free.
Events and responses cross the process boundary as JSON, with Lambda's size limits for synchronous
invocations.
"""

import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.template import Function

# Lambda's limits for a synchronous invocation: the request (the event) and the response, as JSON.
MAX_REQUEST_BYTES = 6 * 1024 * 1024
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
DEFAULT_CONCURRENCY = 4  # environments per function (make run --concurrency)
INIT_TIMEOUT = 30.0  # seconds for an environment to import its handler (Lambda allows 10 s, then retries)


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


class FunctionError(Exception):
    """The invocation failed: what Lambda reports as a function error (the handler raised, timed out, or its
    runtime exited). The message is the error as Lambda logs it."""


class FunctionTimeout(FunctionError):
    """The invocation ran past the function's Timeout; its execution environment was stopped."""


class RequestTooLarge(Exception):
    """The event is over Lambda's request payload limit: Lambda refuses the invocation (413)."""


def request_payload(function: Function, event: Any) -> str:
    """The event as Lambda receives it (JSON), within its size limit."""
    request = json.dumps(event)
    if len(request.encode()) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            f"{function.logical_id}: request must be smaller than {MAX_REQUEST_BYTES} bytes for the Invoke "
            "operation (RequestEntityTooLargeException)"
        )
    return request


def _serve(function: Function, conn: Connection, log_path: str | None) -> None:
    """The execution environment: import the handler once, then handle one event at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the runner stops us
    if log_path:  # the function's own output (Powertools JSON logs, EMF) goes to its log file
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
    else:  # to stderr, as `sam local invoke` shows it: stdout is for what the runner or invoke prints
        os.dup2(2, 1)
    os.environ.update(function.environment)
    sys.path[:0] = [str(function.code_uri), *(str(layer) for layer in function.layers)]
    module_name, handler_name = function.handler.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), handler_name)
        conn.send(("ready", os.getpid()))
    except Exception:
        conn.send(("error", traceback.format_exc()))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the runner went away
        context = LambdaContext(
            function_name=function.environment["AWS_LAMBDA_FUNCTION_NAME"],
            aws_request_id=str(uuid.uuid4()),
            invoked_function_arn=f"arn:aws:lambda:local:123456789012:function:{function.logical_id}",
            deadline_ms=time.time() * 1000 + function.timeout * 1000,
        )
        try:
            response = json.dumps(handler(json.loads(request), context))
        except Exception:
            conn.send(("error", traceback.format_exc()))
            continue
        if len(response.encode()) > MAX_RESPONSE_BYTES:
            too_large = (
                f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            )
            conn.send(("error", too_large))
        else:
            conn.send(("ok", response))


class Worker:
    """One execution environment of a function: a process, started (cold) when created."""

    def __init__(self, function: Function, log_path: Path | None = None) -> None:
        self.function = function
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve,
            args=(function, child, str(log_path) if log_path else None),
            daemon=True,
            name=function.logical_id,
        )
        self._process.start()
        child.close()
        self.alive = True
        if not self._conn.poll(INIT_TIMEOUT):
            self.stop()
            raise FunctionError(f"{function.logical_id} did not start in {INIT_TIMEOUT:g}s")
        try:
            status, detail = self._conn.recv()
        except (EOFError, OSError):
            status, detail = "error", "the runtime exited while importing the handler"
        if status != "ready":
            self.stop()
            raise FunctionError(
                f"{function.logical_id} failed to start (Runtime.ImportModuleError):\n{detail}"
            )
        self.pid = int(detail)

    def invoke(self, request: str) -> Any:
        """Hand one event (JSON) to the environment and wait at most the function's Timeout for its answer.
        Raises FunctionError; after a timeout or a crash the environment is dead (`alive` False)."""
        try:
            self._conn.send(request)
            replied = self._conn.poll(self.function.timeout)
            status, result = self._conn.recv() if replied else ("timeout", None)
        except (EOFError, OSError):
            self.stop()
            raise FunctionError(
                f"{self.function.logical_id}: the runtime exited without a response (Runtime.ExitError)"
            ) from None
        if status == "timeout":
            self.stop()  # its late reply must never answer the next invocation
            raise FunctionTimeout(
                f"{self.function.logical_id}: Task timed out after {self.function.timeout:.2f} seconds"
            )
        if status == "error":
            raise FunctionError(result)
        return json.loads(str(result))

    def stop(self) -> None:
        self.alive = False
        self._conn.close()
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=2)


class Pool:
    """A function's execution environments: at most `size` at once (the template's
    ReservedConcurrentExecutions lowers it). `start` makes the first one; more start when invocations
    overlap, each with its own cold start; an invocation waits when all `size` are busy."""

    def __init__(
        self, function: Function, log_path: Path | None = None, size: int = DEFAULT_CONCURRENCY
    ) -> None:
        reserved = function.reserved_concurrency
        self.function, self.log_path = function, log_path
        self.size = max(1, min(size, reserved) if reserved else size)
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._count = 0  # environments running or starting
        self._cond = threading.Condition()
        self._stopped = False

    def start(self) -> None:
        """Start one environment now (make run does this for every function), so that the first request
        does not pay the cold start. Raises FunctionError if the handler cannot be imported."""
        with self._cond:
            self._count += 1
        self._release(self._new_worker(), healthy=True)

    def _new_worker(self) -> Worker:
        try:
            worker = Worker(self.function, self.log_path)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._all.add(worker)
        return worker

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                if self._stopped:
                    raise FunctionError(f"{self.function.logical_id}: the runner is stopping")
                if self._idle:
                    return self._idle.pop()  # the most recently used: warm
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        return self._new_worker()  # a cold start, outside the lock

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._cond:
            if healthy and worker.alive and not self._stopped:
                self._idle.append(worker)
            else:
                self._count -= 1
                self._all.discard(worker)
            self._cond.notify()
        if not (healthy and worker.alive) or self._stopped:
            worker.stop()

    def invoke(self, event: Any) -> Any:
        """One synchronous invocation: the handler's response. Raises RequestTooLarge or FunctionError."""
        request = request_payload(self.function, event)
        worker = self._acquire()
        healthy = False
        try:
            result = worker.invoke(request)
            healthy = True
            return result
        except FunctionError:
            healthy = worker.alive  # an error from the handler leaves its environment as it is
            raise
        finally:
            self._release(worker, healthy)

    def submit(self, event: Any) -> "Future[Any]":
        """Invoke in the background: whoever waits for the answer may give up before the function does
        (API Gateway's integration timeout), while the invocation runs to its end or its own Timeout."""
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(self.invoke(event))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True, name=f"invoke-{self.function.logical_id}").start()
        return future

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            workers = list(self._all)
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.stop()
