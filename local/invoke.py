"""Invoke one function of the template with an event file, against the local AWS of a running `make run`.

    python -m local.invoke ScoreFunction -e events/score_stream.json

The local equivalent of `sam local invoke -e` (which needs Docker): same handler, same environment as
the template gives it, pointed at moto. Prints the function's response as JSON.
"""

import argparse
import json
import sys
from pathlib import Path

from local.environment import REGION
from local.runner import STACK, function_environment
from local.template import load_stack
from local.workers import FunctionError, Worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.invoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", help="logical id in template.yaml, e.g. ScoreFunction")
    parser.add_argument("-e", "--event", type=Path, required=True, help="event JSON file ('-' for stdin)")
    parser.add_argument("--aws-port", type=int, default=4599, help="port of the running local AWS (moto)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--notifications", type=Path, default=Path(".local/notifications.jsonl"))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    endpoint = f"http://{args.host}:{args.aws_port}"
    stack = load_stack(
        STACK, REGION, {"StageName": "local", "LocalAwsEndpoint": endpoint}, function_environment(args)
    )
    if args.function not in stack.functions:
        print(
            f"No function {args.function!r} in template.yaml; there are: {', '.join(stack.functions)}",
            file=sys.stderr,
        )
        return 2
    text = sys.stdin.read() if str(args.event) == "-" else args.event.read_text()
    worker = Worker(stack.functions[args.function])
    try:
        print(json.dumps(worker.invoke(json.loads(text)), indent=2, default=str))
    except FunctionError as exc:
        print(f"{args.function} raised:\n{exc}", file=sys.stderr)
        return 1
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
