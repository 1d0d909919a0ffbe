"""Inside a function's process: a warm Lambda execution environment that serves the bench's invocations.

Started by bench.costs.Worker with `python -I` and the function's Lambda-like environment (see
bench.lambdaenv). The recorder's hooks are installed before the handler module is imported, so every AWS
client the function makes is seen. Requests and answers are JSON lines on two pipes of their own: the
function's stdout and stderr (Powertools logs, EMF metrics) go to a log file, whose growth per invocation
is what CloudWatch Logs would ingest from the function.
"""

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

from bench.awscalls import Recorder, union_seconds


class Context:
    """What the Lambda runtime hands a handler as `context`."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields["function_version"]
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = fields["memory_limit_in_mb"]
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self._deadline = time.time() * 1000 + fields["timeout_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline - time.time() * 1000))


def _log_size() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    return os.fstat(1).st_size + (
        os.fstat(2).st_size if not os.path.samestat(os.fstat(1), os.fstat(2)) else 0
    )


def _summary(call: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in call.items() if k not in ("attempts", "slept")}
    summary["tries"] = len(call["attempts"])
    return summary


def serve(handler_spec: str, inbox_fd: int, outbox_fd: int) -> None:
    recorder = Recorder()
    recorder.install()
    module_name, attribute = handler_spec.rsplit(".", 1)
    with (
        os.fdopen(inbox_fd, "r", encoding="utf-8") as inbox,
        os.fdopen(outbox_fd, "w", encoding="utf-8") as out,
    ):

        def send(message: dict[str, Any]) -> None:
            out.write(json.dumps(message, default=str) + "\n")
            out.flush()

        try:
            handler = getattr(importlib.import_module(module_name), attribute)
        except Exception:
            send({"ok": False, "error": traceback.format_exc()})
            return
        recorder.take()  # calls made at import time are not an invocation's
        send({"ok": True})
        for line in inbox:
            request = json.loads(line)
            recorder.costing = bool(request["costing"])
            recorder.latency = float(request["latency"])
            recorder.stand_in = bool(request.get("stand_in", False))
            os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
            context = Context(request["context"])
            logged = _log_size()
            started = time.perf_counter()
            try:
                response = handler(request["event"], context)
                error = None
            except Exception:
                response, error = None, traceback.format_exc()
            elapsed = time.perf_counter() - started
            calls, lookups = recorder.take()
            attempts = [a for c in calls if c["service"] == "dynamodb" for a in c["attempts"]]
            slept = [a for c in calls if c["service"] == "dynamodb" for a in c["slept"]]
            send(
                {
                    "ok": error is None,
                    "error": error,
                    "response": response,
                    "seconds": elapsed,
                    "lookup_seconds": union_seconds(lookups),
                    "dynamodb_waiting": union_seconds(attempts),
                    "round_trips": union_seconds(slept),
                    "calls": [_summary(c) for c in calls],
                    "log_bytes": _log_size() - logged,
                }
            )
            os.environ.pop("_X_AMZN_TRACE_ID", None)
