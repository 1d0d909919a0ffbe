"""`make run`: the whole Leadstream pipeline on http://127.0.0.1:3000 against moto in server mode.

Everything is wired from template.yaml: routes, stream subscriptions (with filters and partial batch
failures) and EventBridge rules. Each function runs in its own process with its template environment.
"""

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy
from leadstream.sources.repository import SourceRepository
from moto.server import ThreadedMotoServer

from local.aws import clients, delivery_queue_name, provision
from local.environment import REGION, local_overrides
from local.events import BusDelivery, StreamPoller
from local.gateway import make_server
from local.template import REPO, Stack, load_stack
from local.workers import Worker

STACK = "leadstream-local"
# The demo website's source. A fixed key, for the local stack only, so events/ samples can carry it.
DEMO_SOURCE = "demo-site"
DEMO_WRITE_KEY = "lsk_local_demo"


def create_demo_source(stack: Stack, endpoint: str | None, origins: tuple[str, ...]) -> None:
    """The source the demo website sends with (and the sample events in events/ use). `endpoint` None:
    the AWS this process already talks to (moto's in-process mock in the bench)."""
    if endpoint:
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="local")
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - moto accepts any credentials
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    admin = SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))
    admin.create(
        "Demo website", origins, Privacy(), datetime.now(UTC), source_id=DEMO_SOURCE, key=DEMO_WRITE_KEY
    )


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _show_notification(line: str) -> None:
    note = json.loads(line)
    bar = "=" * 72
    print(f"\n{bar}\n  SALES NOTIFICATION  {note['subject']}\n{bar}", flush=True)
    for text_line in note["text"].splitlines():
        print(f"  {text_line}", flush=True)
    print(bar + "\n", flush=True)


class NotificationTail(threading.Thread):
    def __init__(self, path: Path, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="notifications")
        self.path, self.stop_event = path, stop

    def run(self) -> None:
        offset = self.path.stat().st_size if self.path.exists() else 0
        while not self.stop_event.wait(0.2):
            if not self.path.exists() or self.path.stat().st_size <= offset:
                continue
            with self.path.open(encoding="utf-8") as notes:
                notes.seek(offset)
                for line in notes:
                    if line.strip():
                        _show_notification(line)
                offset = notes.tell()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="tracking API and demo site (default 3000)")
    parser.add_argument("--aws-port", type=int, default=4599, help="local AWS endpoint, moto (default 4599)")
    parser.add_argument(
        "--notifications", type=Path, default=REPO / ".local" / "notifications.jsonl", help="JSON lines file"
    )
    parser.add_argument("--verbose", action="store_true", help="functions log at INFO, to this terminal")
    return parser.parse_args(argv)


def function_environment(args: argparse.Namespace) -> dict[str, str]:
    """What Lambda itself would provide, plus local conveniences (the endpoint comes from the template)."""
    return local_overrides(
        region=REGION,
        log_level="INFO" if args.verbose else "WARNING",
        notifications_file=args.notifications.resolve(),
    )


def _banner(args: argparse.Namespace, stack: Stack, endpoint: str) -> None:
    base = f"http://{args.host}:{args.port}"
    leads = stack.physical_name("LeadsTable")
    print(
        f"""
Leadstream is running locally (stack {stack.name}, everything wired from template.yaml).

  Tracking API      {base}   ({len(stack.routes)} routes from template.yaml: Segment HTTP API /v1/identify ...
                    /v1/batch and short paths, /v1/lb.js, /v1/o.gif, /v1/c, /v1/forms/{{form_id}})
  Demo website      {base}/demo/   (source "{DEMO_SOURCE}", write key {DEMO_WRITE_KEY})
  Local AWS (moto)  {endpoint}
                    aws --endpoint-url {endpoint} --region {REGION} dynamodb scan --table-name {leads}
  Notifications     {args.notifications}  (also printed here)
  Function logs     {args.notifications.parent / "logs"}/<Function>.log  (make run ARGS=--verbose: here)
  sam local env     {args.notifications.parent / "sam-local-env.json"}  (see README, "With Docker")

Click through the demo site and request a demo with a work e-mail to become an SQL.
More sources: .venv/bin/python -m cli sources create "My site" --origin https://www.example.com
Press Ctrl-C to stop.
""",
        flush=True,
    )


def write_sam_local_env(stack: Stack, path: Path) -> None:
    """`sam local --env-vars` file: the same tables, bus and endpoint as this run, per function."""
    env = {name: dict(function.declared) for name, function in stack.functions.items()}
    path.write_text(json.dumps(env, indent=2) + "\n")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for port, flag in ((args.port, "--port"), (args.aws_port, "--aws-port")):
        if not _port_free(args.host, port):
            print(
                f"Port {port} on {args.host} is in use (another `make run`?). Stop it, or pick another port: "
                f"make run ARGS='{flag} <port>'",
                file=sys.stderr,
            )
            return 1
    args.notifications.parent.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://{args.host}:{args.aws_port}"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    moto = ThreadedMotoServer(ip_address=args.host, port=args.aws_port, verbose=False)
    moto.start()
    stop = threading.Event()
    workers: dict[str, Worker] = {}
    server = None
    try:
        origins = f"http://localhost:{args.port},http://127.0.0.1:{args.port}"
        stack = load_stack(
            STACK,
            REGION,
            {"StageName": "local", "AllowedOrigins": origins, "LocalAwsEndpoint": endpoint},
            function_environment(args),
        )
        aws = clients(endpoint, REGION)
        queues = provision(stack, aws)
        write_sam_local_env(stack, args.notifications.parent / "sam-local-env.json")
        site = (
            f"http://{args.host}:{args.port}",
            f"http://localhost:{args.port}",
            f"http://127.0.0.1:{args.port}",
        )
        create_demo_source(stack, endpoint, tuple(dict.fromkeys(site)))
        tables = len(stack.of_type("AWS::DynamoDB::Table"))
        _log(f"created {tables} tables, {len(queues)} queues, the bus and its rules in local AWS")
        logs = args.notifications.parent / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for logical_id, function in stack.functions.items():
            workers[logical_id] = Worker(function, None if args.verbose else logs / f"{logical_id}.log")
        _log(f"started {len(workers)} functions: {', '.join(workers)}")
        threads: list[threading.Thread] = [
            StreamPoller(stack, sub, workers[sub.function], aws, queues, stop, _log) for sub in stack.streams
        ]
        threads += [
            BusDelivery(
                rule,
                queues[delivery_queue_name(stack, rule.name)],
                workers[rule.function],
                aws,
                queues,
                stop,
                _log,
            )
            for rule in stack.rules
        ]
        threads.append(NotificationTail(args.notifications, stop))
        for thread in threads:
            thread.start()
        cors: dict[str, Any] = stack.resolve(
            stack.resources["HttpApi"]["Properties"].get("CorsConfiguration", {})
        )
        server = make_server(args.host, args.port, stack.routes, workers, cors, _log, DEMO_WRITE_KEY)
        _banner(args, stack, endpoint)

        def _stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nStopping Leadstream ...", flush=True)
    except OSError as exc:
        print(
            f"Could not start: {exc}. Is another `make run` using port {args.port} or {args.aws_port}?",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        if server is not None:
            server.server_close()
        for worker in workers.values():
            worker.stop()
        moto.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
