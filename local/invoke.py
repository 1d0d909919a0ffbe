"""Invoke one function of the template with an event file, against the local AWS of a running `make run`.

    python -m local.invoke ScoreFunction -e events/score_stream.json

The local equivalent of `sam local invoke -e` (which needs Docker): same handler, same environment as
the template gives it, pointed at moto. Prints the function's response as JSON.

Exit status: 0 when the invocation succeeded; 1 when the function failed: it raised or timed out, reported
failed records (batchItemFailures of a stream batch) or answered an HTTP request with a 5xx status;
2 for a function the template does not have.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.environment import REGION
from local.runner import AWS_HOST, STACK, function_environment
from local.template import TEMPLATE, load_stack
from local.workers import FunctionError, RequestTooLarge, Worker, request_payload


def failure(event: Any, response: Any) -> str | None:
    """Why a response that the function returned is still a failure, if it is one."""
    if not isinstance(response, dict):
        return None
    failed = response.get("batchItemFailures")
    if isinstance(event, dict) and "Records" in event and failed:
        return f"{len(failed)} record(s) reported as failed (batchItemFailures)"
    status = response.get("statusCode")
    if isinstance(event, dict) and "requestContext" in event and status is not None:
        try:
            if int(status) >= 500:
                return f"answered HTTP {status}"
        except (TypeError, ValueError):
            return f"answered an invalid statusCode {status!r}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", help="logical id in template.yaml, e.g. ScoreFunction")
    parser.add_argument("-e", "--event", type=Path, required=True, help="event JSON file ('-' for stdin)")
    parser.add_argument("--aws-port", type=int, default=4599, help="port of the running local AWS (moto)")
    parser.add_argument("--host", default=AWS_HOST, help="address of the running local AWS (moto)")
    parser.add_argument("--notifications", type=Path, default=Path(".local/notifications.jsonl"))
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="SAM template (default template.yaml)"
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter, as make run was given it (e.g. ShadowScoringModel=...; repeatable)",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    endpoint = f"http://{args.host}:{args.aws_port}"
    given = dict(p.split("=", 1) for p in args.parameter if "=" in p)
    stack = load_stack(
        STACK,
        REGION,
        {**given, "StageName": "local", "LocalAwsEndpoint": endpoint},
        function_environment(args),
        args.template.resolve(),
    )
    if args.function not in stack.functions:
        print(
            f"No function {args.function!r} in the template; there are: {', '.join(stack.functions)}",
            file=sys.stderr,
        )
        return 2
    text = sys.stdin.read() if str(args.event) == "-" else args.event.read_text()
    event = json.loads(text)
    try:
        worker = Worker(stack.functions[args.function])
    except FunctionError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        response = worker.invoke(request_payload(worker.function, event))
    except (FunctionError, RequestTooLarge) as exc:
        print(f"{args.function} failed:\n{exc}", file=sys.stderr)
        return 1
    finally:
        worker.stop()
    print(json.dumps(response, indent=2, default=str))
    reason = failure(event, response)
    if reason:
        print(f"{args.function} failed: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
