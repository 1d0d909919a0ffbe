"""A Lambda-like process for each function of template.yaml, against a local AWS (moto in server mode).

Everything the bench runs of a function runs in a process of its own, started with `python -I` and the
environment Lambda would give it: the function's template environment, Lambda's own variables
(LAMBDA_TASK_ROOT, AWS_EXECUTION_ENV, memory size, X-Ray daemon address ...), tracing and metrics on as
deployed, and AWS_ENDPOINT_URL (the template's LocalAwsEndpoint parameter) pointing at moto. The handler
is imported from the function's CodeUri with the layer on sys.path, exactly as `app.lambda_handler`
resolves in Lambda. Nothing here imports the shared `leadstream` package.
"""

import copy
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from local.aws import clients, provision
from local.environment import REGION, local_overrides
from local.runner import create_demo_source
from local.template import ACCOUNT, REPO, Function, Stack, load_stack, load_template

LAYER = REPO / "layers" / "common"
EVENTS = REPO / "events"
STACK = "leadstream-bench"
SITE = "https://www.example.com"
# The demo source's origins: the bench's own site, and the one the sample events in events/ come from.
DEMO_ORIGINS = (SITE, "http://localhost:3000", "http://127.0.0.1:3000")
# Where a function has several samples in events/, the one that is its everyday request.
PREFERRED_SAMPLE = {"TrackFunction": "track_page.json", "FormFunction": "form_json.json"}
XRAY_DAEMON = "127.0.0.1:2000"  # UDP; nothing listens, as with a daemon that drops what it gets


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalAws:
    """moto in server mode on a free port, with the template's resources and the demo source."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.stack = bench_stack(self.endpoint)
        self.aws: dict[str, Any] = clients(self.endpoint, REGION)
        self.scratch = Path(tempfile.mkdtemp(prefix="leadstream-bench-"))  # removed by stop()

    def scratch_dir(self, name: str) -> Path:
        """A folder of this run's own (events, results, function logs), gone when the run ends."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))

    def fresh(self) -> None:
        """Empty moto, then create every resource of the template and the demo source again."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()
        provision(self.stack, self.aws)
        create_demo_source(self.stack, self.endpoint, DEMO_ORIGINS)

    def empty_table(self, logical_id: str) -> None:
        """Delete every item of a table (e.g. Powertools' idempotency records between cold starts)."""
        ddb = self.aws["dynamodb"]
        name = self.stack.physical_name(logical_id)
        keys = [k["AttributeName"] for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for item in ddb.scan(TableName=name).get("Items", []):
            ddb.delete_item(TableName=name, Key={k: item[k] for k in keys})

    def stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)


def bench_stack(endpoint: str) -> Stack:
    """template.yaml resolved for the bench: functions point at `endpoint`, log at the template's default
    level, and keep tracing and metrics on, as deployed (local/environment.py adds region, credentials)."""
    log_level = str(load_template()["Parameters"]["LogLevel"]["Default"])
    return load_stack(
        STACK,
        REGION,
        {"StageName": "bench", "LocalAwsEndpoint": endpoint},
        local_overrides(log_level=log_level, tracing=True, metrics=True),
    )


def _function_setting(stack: Stack, logical_id: str, name: str, default: Any) -> Any:
    globals_fn = stack.template.get("Globals", {}).get("Function", {})
    return stack.resources[logical_id]["Properties"].get(name, globals_fn.get(name, default))


def memory_mb(stack: Stack, logical_id: str) -> int:
    return int(_function_setting(stack, logical_id, "MemorySize", 128))


def runtime(stack: Stack, logical_id: str) -> str:
    return str(_function_setting(stack, logical_id, "Runtime", "python3.13"))


def common_environment(stack: Stack) -> dict[str, str]:
    """What every function of the stack gets (the template's Globals plus the local overrides)."""
    functions = list(stack.functions.values())
    first = functions[0].environment
    return {
        k: v
        for k, v in first.items()
        if k != "AWS_LAMBDA_FUNCTION_NAME" and all(f.environment.get(k) == v for f in functions)
    }


def lambda_environment(
    function_env: dict[str, str], name: str, task_root: Path, memory: int, runtime_id: str
) -> dict[str, str]:
    """The process environment of a Lambda execution environment for one function, run locally."""
    return {
        # No profile, no config file, no instance metadata look-ups: only what Lambda provides.
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **function_env,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{time.strftime('%Y/%m/%d')}/[$LATEST]{secrets.token_hex(16)}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime_id}",
        "AWS_SESSION_TOKEN": "local",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_XRAY_DAEMON_ADDRESS": XRAY_DAEMON,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


def function_environment(stack: Stack, function: Function) -> dict[str, str]:
    return lambda_environment(
        function.environment,
        function.environment["AWS_LAMBDA_FUNCTION_NAME"],
        function.code_uri,
        memory_mb(stack, function.logical_id),
        runtime(stack, function.logical_id),
    )


def handler_paths(function: Function) -> list[str]:
    """sys.path entries Lambda puts first: the task root (/var/task), then the layer (/opt/python)."""
    return [str(function.code_uri), str(LAYER)]


def trace_header() -> str:
    """_X_AMZN_TRACE_ID as Lambda sets it for a sampled invocation."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=1"


def context_fields(stack: Stack, function_name: str, memory: int, timeout: int) -> dict[str, Any]:
    """What the Lambda runtime hands a handler as `context` (the fields Powertools reads)."""
    return {
        "function_name": function_name,
        "function_version": "$LATEST",
        "invoked_function_arn": f"arn:aws:lambda:{stack.region}:{ACCOUNT}:function:{function_name}",
        "memory_limit_in_mb": memory,
        "aws_request_id": str(uuid.uuid4()),
        "log_group_name": f"/aws/lambda/{function_name}",
        "log_stream_name": "bench",
        "timeout_ms": timeout * 1000,
    }


# --- sample events ----------------------------------------------------------------------------------


def sample_prefix(logical_id: str) -> str:
    """The events/ file prefix of a function (tests/integration/test_sample_events.py's convention):
    TrackFunction -> track_, NotifySalesFunction -> notify_sales."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id.removesuffix("Function")).lower()


def sample_event_path(logical_id: str) -> Path:
    prefix = sample_prefix(logical_id)
    found = sorted(p for p in EVENTS.glob("*.json") if p.stem == prefix or p.stem.startswith(prefix + "_"))
    if not found:
        raise SystemExit(
            f"bench: {logical_id} has no sample event in events/ (expected events/{prefix}_*.json); "
            "every function of template.yaml needs one (see tests/integration/test_sample_events.py)"
        )
    preferred = PREFERRED_SAMPLE.get(logical_id)
    return next((p for p in found if p.name == preferred), found[0])


_SERIAL = itertools.count(1)


def fresh_copy(event: dict[str, Any]) -> dict[str, Any]:
    """The sample made new, as the next real request would be: a new messageId (a page view, a form), new
    stream sequence numbers (in the sample's order, above those of earlier copies), a new bus event id.
    Anything else is the sample as it is."""
    event = copy.deepcopy(event)
    serial = next(_SERIAL)
    context = event.get("requestContext")
    if isinstance(context, dict):
        context["requestId"] = str(uuid.uuid4())
        context["timeEpoch"] = int(time.time() * 1000)
        if not event.get("isBase64Encoded") and str(event.get("body") or "").startswith("{"):
            body = json.loads(event["body"])
            for message in body["batch"] if isinstance(body.get("batch"), list) else [body]:
                if isinstance(message, dict):
                    message["messageId"] = f"bench-{uuid.uuid4().hex}"
            event["body"] = json.dumps(body)
    for record in event.get("Records", []):
        record["eventID"] = uuid.uuid4().hex
        ddb = record.get("dynamodb", {})
        if "SequenceNumber" in ddb:
            ddb["SequenceNumber"] = str(int(ddb["SequenceNumber"]) + serial * 10**6)
    if "detail-type" in event:
        event["id"] = str(uuid.uuid4())
    return event


def check_response(logical_id: str, response: Any) -> None:
    """A request that failed must never look fast: an HTTP answer other than 2xx, or a stream batch with
    failed records, stops the bench (an exception in the handler already has)."""
    if isinstance(response, dict) and "statusCode" in response:
        status = int(response["statusCode"])
        if not 200 <= status < 300:
            raise RuntimeError(f"{logical_id} answered {status}: {str(response.get('body'))[:500]}")
    if isinstance(response, dict) and response.get("batchItemFailures"):
        raise RuntimeError(f"{logical_id} reported failed records: {response['batchItemFailures']}")
