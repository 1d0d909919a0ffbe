"""`make run`: the whole Leadstream pipeline on http://127.0.0.1:3000 against moto in server mode.

Everything is wired from template.yaml: routes, stream subscriptions (with filters and partial batch
failures) and EventBridge rules. Each function runs in processes of its own (its execution environments,
up to --concurrency at once) with its template environment. The local AWS listens on 127.0.0.1 only
(unless --aws-host says otherwise), whatever --host the tracking API listens on.
"""

import argparse
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadstream.notifications.message import for_terminal
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy
from leadstream.sources.repository import SourceRepository

from local.authorizer import IssuerKeys, through
from local.aws import clients, create_user, delivery_queue_name, local_password, provision
from local.destinations import ApiDestinationDelivery
from local.environment import REGION, local_overrides
from local.events import BusDelivery, StreamPoller
from local.gateway import BODY_TIMEOUT, make_server
from local.moto_server import LocalAws
from local.scheduler import Scheduler
from local.simulator.driver import SALES_USER, SimulationError
from local.simulator.run import add_options, simulate
from local.template import REPO, TEMPLATE, Stack, load_stack
from local.workers import DEFAULT_CONCURRENCY, FunctionError, Pool

STACK = "leadstream-local"
# The demo website's source. A fixed key, for the local stack only, so events/ samples can carry it.
DEMO_SOURCE = "demo-site"
DEMO_WRITE_KEY = "lsk_local_demo"
# The origin the sample events in events/ come from: the same whatever port make run uses.
SAMPLE_ORIGIN = "http://localhost"
AWS_HOST = "127.0.0.1"  # the local AWS listens here, whatever --host says (--aws-host to expose it)
# Company lookups (CompanyLookupSecret): the token comes from this environment variable, never from the
# command line (a process list shows that), and goes into the local Secrets Manager under this name.
COMPANY_LOOKUP_TOKEN = "LEADSTREAM_COMPANY_LOOKUP_TOKEN"  # noqa: S105 - a variable name
COMPANY_LOOKUP_SECRET = "leadstream-local/company-lookup"  # noqa: S105 - a secret name
# The outbound webhook (WebhookSecret): its auth header's value comes from this environment variable, into
# the local Secrets Manager under this name; --webhook-url turns it on.
WEBHOOK_SECRET_VALUE = "LEADSTREAM_WEBHOOK_SECRET"  # noqa: S105 - a variable name
WEBHOOK_SECRET = "leadstream-local/webhook"  # noqa: S105 - a secret name
# Slack's Accept / Reject buttons (SlackSigningSecret): the Slack app's signing secret and bot token come
# from these environment variables and go into the local Secrets Manager, as one secret under this name.
SLACK_SIGNING_SECRET = "LEADSTREAM_SLACK_SIGNING_SECRET"  # noqa: S105 - a variable name
SLACK_BOT_TOKEN = "LEADSTREAM_SLACK_BOT_TOKEN"  # noqa: S105 - a variable name
SLACK_APP_SECRET = "leadstream-local/slack-app"  # noqa: S105 - a secret name
# The sales API's local users (e-mail -> their groups): new passwords each run, printed in the banner.
LOCAL_USERS = {"sales@example.com": ["sales"], "marketing@example.com": ["marketing"]}


def create_local_users(stack: Stack, aws: dict[str, Any]) -> dict[str, str]:
    """LOCAL_USERS in the template's user pool (if it has one), each with a fresh password: e-mail ->
    password."""
    pools = list(stack.of_type("AWS::Cognito::UserPool"))
    if not pools:
        return {}
    passwords = {email: local_password() for email in LOCAL_USERS}
    for email, groups in LOCAL_USERS.items():
        create_user(aws["cognito-idp"], stack.physical_ids[pools[0]], email, passwords[email], groups)
    return passwords


def create_demo_source(stack: Stack, endpoint: str | None, origins: tuple[str, ...]) -> None:
    """The source the demo website sends with, allowing `origins` and SAMPLE_ORIGIN (that of the sample
    events in events/). `endpoint` None: the AWS this process already talks to (moto's in-process mock in
    the bench)."""
    if endpoint:
        os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="local")
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - moto accepts any credentials
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    admin = SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))
    allowed = tuple(dict.fromkeys((*origins, SAMPLE_ORIGIN)))
    admin.create(
        "Demo website", allowed, Privacy(), datetime.now(UTC), source_id=DEMO_SOURCE, key=DEMO_WRITE_KEY
    )


# While a simulation runs (--simulate), the lines of routine work are not printed: each request answered
# 2xx or 3xx and each speed-to-lead timer fired (hundreds, for leads handed over weeks ago). Failures are.
QUIET = threading.Event()
_ROUTINE = re.compile(r"(?:[A-Z]+ \S+ -> [23]\d\d \(|scheduler: sla-\S+ -> \w+$)")


def _log(message: str) -> None:
    if QUIET.is_set() and _ROUTINE.match(message):
        return
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def _show_notification(line: str) -> None:
    """A notification in the terminal: what a visitor typed is shown, never interpreted (escapes)."""
    note = json.loads(line)
    bar = "=" * 72
    print(f"\n{bar}\n  SALES NOTIFICATION  {for_terminal(note['subject'])}\n{bar}", flush=True)
    for text_line in note["text"].splitlines():
        print(f"  {for_terminal(text_line)}", flush=True)
    print(bar + "\n", flush=True)


def _write_endpoints(args: argparse.Namespace, endpoint: str) -> Path:
    """Where this run listens, for `python -m cli` (cli/target.py reads .local/endpoints.json)."""
    api_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    path: Path = args.notifications.parent / "endpoints.json"
    # and the template parameters given (--parameter), so that `cli redrive` runs the functions as this run
    given = dict(p.split("=", 1) for p in args.parameter if "=" in p)
    written = {"api": f"http://{api_host}:{args.port}", "aws": endpoint, "parameters": given}
    path.write_text(json.dumps(written) + "\n")
    return path


class NotificationTail(threading.Thread):
    """Prints each new notification; while `quiet` is set (a simulation runs) counts them instead, by
    subject's first words, for `summarise` to print as one line."""

    def __init__(self, path: Path, stop: threading.Event) -> None:
        super().__init__(daemon=True, name="notifications")
        self.path, self.stop_event = path, stop
        self.quiet = threading.Event()
        self.held: dict[str, int] = {}
        self.seen = 0  # notifications read

    def _take(self, line: str) -> None:
        self.seen += 1
        if not self.quiet.is_set():
            _show_notification(line)
            return
        subject = str(json.loads(line).get("subject", ""))
        kind = subject.split(":")[0].split(" at ")[0][:40] or "notification"
        kind = " ".join(word for word in kind.split()[:3])
        self.held[kind] = self.held.get(kind, 0) + 1

    def summarise(self) -> str:
        """What was held back while quiet, as one line; printing resumes."""
        held = ", ".join(
            f"{count} {kind}" for kind, count in sorted(self.held.items(), key=lambda kv: -kv[1])
        )
        total = sum(self.held.values())
        self.held = {}
        self.quiet.clear()
        return f"{total} notifications while simulating ({held or 'none'}), all in {self.path}"

    def run(self) -> None:
        offset = self.path.stat().st_size if self.path.exists() else 0
        while not self.stop_event.wait(0.2):
            if not self.path.exists() or self.path.stat().st_size <= offset:
                continue
            with self.path.open(encoding="utf-8") as notes:
                notes.seek(offset)
                for line in notes:
                    if line.strip():
                        self._take(line)
                offset = notes.tell()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface of the tracking API and demo site (default 127.0.0.1; 0.0.0.0: every interface). "
        "The local AWS stays on 127.0.0.1 (see --aws-host).",
    )
    parser.add_argument("--port", type=int, default=3000, help="tracking API and demo site (default 3000)")
    parser.add_argument(
        "--aws-port", type=int, default=4599, help="port of the local AWS endpoint, moto (default 4599)"
    )
    parser.add_argument(
        "--aws-host",
        default=AWS_HOST,
        help=f"interface of the local AWS (default {AWS_HOST}). It has no authentication: with 0.0.0.0 "
        "anyone on your network can read and change its data (for containers that cannot reach loopback)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"execution environments (processes) per function at most (default {DEFAULT_CONCURRENCY}); "
        "one starts with make run, more when invocations overlap",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT,
        help=f"seconds a request body may stall before the answer is 400 (default {BODY_TIMEOUT:g})",
    )
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="SAM template (default template.yaml)"
    )
    parser.add_argument(
        "--notifications", type=Path, default=REPO / ".local" / "notifications.jsonl", help="JSON lines file"
    )
    parser.add_argument("--verbose", action="store_true", help="functions log at INFO, to this terminal")
    parser.add_argument(
        "--company-lookup-url",
        default=None,
        help=f"base URL of the company-by-IP lookup (IPinfo's format; default https://ipinfo.io). Lookups "
        f"are on when ${COMPANY_LOOKUP_TOKEN} holds a token",
    )
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter for this run, e.g. QualificationFramework=MEDDIC (repeatable)",
    )
    parser.add_argument(
        "--webhook-url",
        default=None,
        help=f"the outbound webhook (WebhookUrl): every lead event is POSTed there; the value of its auth "
        f"header (WebhookAuthHeader, default Authorization) comes from ${WEBHOOK_SECRET_VALUE}",
    )
    parser.add_argument(
        "--slack-api-url",
        default=None,
        help=f"Slack's Web API (default https://slack.com/api). The Accept / Reject buttons act when "
        f"${SLACK_SIGNING_SECRET} and ${SLACK_BOT_TOKEN} hold the Slack app's credentials",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="fill the stack with a simulated 90-day history through its APIs, in the background (see "
        "--seed, --visitors, --days; README, 'Demo data')",
    )
    add_options(parser)
    return parser.parse_args(argv)


def stack_parameters(args: argparse.Namespace, endpoint: str) -> dict[str, str]:
    """The template's parameters for this run: company lookups on when a token is in the environment, and
    any given with --parameter."""
    # the LeadCard link of a Slack message: this run's API (a deployed stack links its own API's URL)
    api_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    parameters = {"StageName": "local", "LocalAwsEndpoint": endpoint}
    if api_host in ("127.0.0.1", "localhost"):
        parameters["SalesAppUrl"] = f"http://{api_host}:{args.port}"
    if os.environ.get(COMPANY_LOOKUP_TOKEN):
        parameters["CompanyLookupSecret"] = COMPANY_LOOKUP_SECRET
        if args.company_lookup_url:
            parameters["CompanyLookupUrl"] = args.company_lookup_url
    if args.webhook_url:
        parameters.update(WebhookUrl=args.webhook_url, WebhookSecret=WEBHOOK_SECRET)
    if os.environ.get(SLACK_SIGNING_SECRET) and os.environ.get(SLACK_BOT_TOKEN):
        parameters["SlackSigningSecret"] = SLACK_APP_SECRET
    if args.slack_api_url:
        parameters["SlackApiUrl"] = args.slack_api_url
    for given in args.parameter:
        name, equals, value = given.partition("=")
        if not (name and equals):
            raise SystemExit(f"--parameter {given!r}: give it as NAME=VALUE")
        parameters[name] = value
    return parameters


def store_webhook_secret(stack: Stack, aws: dict[str, Any]) -> bool:
    """The webhook header's value in the local Secrets Manager, under the name WebhookSecret gives."""
    name = stack.parameters.get("WebhookSecret")
    if not (stack.parameters.get("WebhookUrl") and name):
        return False
    aws["secretsmanager"].create_secret(Name=name, SecretString=os.environ[WEBHOOK_SECRET_VALUE])
    return True


def store_slack_app_secret(stack: Stack, aws: dict[str, Any]) -> bool:
    """The Slack app's credentials in the local Secrets Manager, under the name SlackSigningSecret gives."""
    name = stack.parameters.get("SlackSigningSecret")
    if not name:
        return False
    document = {"signing_secret": os.environ[SLACK_SIGNING_SECRET], "bot_token": os.environ[SLACK_BOT_TOKEN]}
    aws["secretsmanager"].create_secret(Name=name, SecretString=json.dumps(document))
    return True


def store_company_lookup_token(stack: Stack, aws: dict[str, Any]) -> bool:
    """The token in the local Secrets Manager, under the name the stack's CompanyLookupSecret gives."""
    token = os.environ.get(COMPANY_LOOKUP_TOKEN)
    name = stack.parameters.get("CompanyLookupSecret")
    if not (token and name):
        return False
    aws["secretsmanager"].create_secret(Name=name, SecretString=token)
    return True


def function_environment(args: argparse.Namespace) -> dict[str, str]:
    """What Lambda itself would provide, plus local conveniences (the endpoint comes from the template)."""
    return local_overrides(
        region=REGION,
        log_level="INFO" if args.verbose else "WARNING",
        notifications_file=args.notifications.resolve(),
    )


def _sales_api_lines(base: str, users: dict[str, str]) -> str:
    if not users:
        return ""
    who = "\n".join(
        f"                    {email:<22} password {password}  ({', '.join(LOCAL_USERS[email])})"
        for email, password in users.items()
    )
    first = next(iter(users))
    return f"""  Web app           {base}/app   (sign in as one of these users)
  Sales API         {base}/api/leads/<lead_id>   (docs {base}/api/docs)
{who}
                    token: .venv/bin/python -m cli token --user {first} --id
                    curl -H "Authorization: Bearer $TOKEN" {base}/api/leads/<lead_id>
"""


def _banner(args: argparse.Namespace, stack: Stack, endpoint: str, users: dict[str, str]) -> None:
    base = f"http://{args.host}:{args.port}"
    leads = stack.physical_name("LeadsTable") if "LeadsTable" in stack.resources else "<table>"

    def reach(host: str) -> str:
        if host in ("127.0.0.1", "localhost", "::1"):
            return "this machine only"
        return f"listening on {host}: reachable from the network"

    print(
        f"""
Leadstream is running locally (stack {stack.name}, everything wired from {args.template.name}).

  Tracking API      {base}   ({reach(args.host)})
                    {len(stack.routes)} routes from the template: Segment HTTP API /v1/identify ...
                    /v1/batch and short paths, /v1/lb.js, /v1/o.gif, /v1/c, /v1/forms/{{form_id}}
  Demo website      {base}/demo/   (source "{DEMO_SOURCE}", write key {DEMO_WRITE_KEY})
{_sales_api_lines(base, users)}  Local AWS (moto)  {endpoint}   ({reach(args.aws_host)})
                    aws --endpoint-url {endpoint} --region {REGION} dynamodb scan --table-name {leads}
  Functions         {len(stack.functions)}, each up to {args.concurrency} execution environments (processes)
  Notifications     {args.notifications}  (also printed here)
  Function logs     {args.notifications.parent / "logs"}/<Function>.log  (make run ARGS=--verbose: here)
  sam local env     {args.notifications.parent / "sam-local-env.json"}  (see README, "With Docker")

Click through the demo site and request a demo with a work e-mail to become an SQL.
More sources: .venv/bin/python -m cli sources create "My site" --origin https://www.example.com
Press Ctrl-C to stop.
""",
        flush=True,
    )


class Simulation(threading.Thread):
    """`--simulate`: the plan played through this run's APIs while the banner is shown. Notifications are
    counted, not printed, until the simulation is done and they have stopped arriving (hundreds of SQLs
    and SLA breaches of leads handed over weeks ago); then one line sums them up and printing resumes.
    Routine request and timer lines are not printed meanwhile (QUIET)."""

    def __init__(
        self,
        args: argparse.Namespace,
        stack: Stack,
        aws: dict[str, Any],
        password: str,
        tail: NotificationTail,
        stop: threading.Event,
    ) -> None:
        super().__init__(daemon=True, name="simulation")
        self.args, self.stack, self.aws, self.password, self.tail = args, stack, aws, password, tail
        self.stop_event = stop

    def run(self) -> None:
        api = (
            f"http://127.0.0.1:{self.args.port}" if self.args.host in ("0.0.0.0", "::") else _base(self.args)
        )
        client = next(iter(self.stack.of_type("AWS::Cognito::UserPoolClient")))
        try:
            simulate(
                api,
                self.stack.physical_name("SourcesTable"),
                self.aws["cognito-idp"],
                self.stack.physical_ids[client],
                self.password,
                seed=self.args.seed,
                visitors=self.args.visitors,
                days=self.args.days,
                report=_log,
                stop=self.stop_event,
            )
        except (SimulationError, OSError) as exc:
            if not self.stop_event.is_set():
                _log(f"simulation failed: {exc}")
        else:
            self._settle()
            QUIET.clear()
            _log(self.tail.summarise())
            _log("simulation done: the web app has data to show")
        finally:
            QUIET.clear()
            self.tail.quiet.clear()

    def _settle(self, quiet_seconds: float = 10, at_most: float = 120) -> None:
        """Until no notification has come for `quiet_seconds` (the last SLA timers fire after the last
        hand-over), `at_most` seconds."""
        deadline = time.monotonic() + at_most
        seen, since = self.tail.seen, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet_seconds:
            time.sleep(0.5)
            if self.tail.seen != seen:
                seen, since = self.tail.seen, time.monotonic()


def _base(args: argparse.Namespace) -> str:
    return f"http://{args.host}:{args.port}"


def write_sam_local_env(stack: Stack, path: Path) -> None:
    """`sam local --env-vars` file: the same tables, bus and endpoint as this run, per function."""
    env = {name: dict(function.declared) for name, function in stack.functions.items()}
    path.write_text(json.dumps(env, indent=2) + "\n")


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start_pools(pools: dict[str, Pool]) -> None:
    """One execution environment per function (each imports its handler), as many at once as there are
    CPUs: on a small or busy machine a dozen imports at once each took near INIT_TIMEOUT, one per CPU
    takes seconds and the whole start no longer."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(pools), os.cpu_count() or 1))) as starting:
        for started in [starting.submit(pool.start) for pool in pools.values()]:
            started.result()


def http_cors(stack: Stack) -> dict[str, Any]:
    """The CorsConfiguration of the template's HTTP API (none: API Gateway adds no CORS headers)."""
    for resource in stack.of_type("AWS::Serverless::HttpApi").values():
        cors: dict[str, Any] = stack.resolve(resource.get("Properties", {}).get("CorsConfiguration", {}))
        return cors if isinstance(cors, dict) else {}
    return {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.template = args.template.resolve()
    if args.webhook_url and not os.environ.get(WEBHOOK_SECRET_VALUE):
        print(
            f"--webhook-url needs the value of its auth header in ${WEBHOOK_SECRET_VALUE} "
            "(e.g. 'Bearer <token>')",
            file=sys.stderr,
        )
        return 1
    for host, port, flag in ((args.host, args.port, "--port"), (args.aws_host, args.aws_port, "--aws-port")):
        if not _port_free(host, port):
            print(
                f"Port {port} on {host} is in use (another `make run`?). Stop it, or pick another port: "
                f"make run ARGS='{flag} <port>'",
                file=sys.stderr,
            )
            return 1
    args.notifications.parent.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://{AWS_HOST}:{args.aws_port}"  # the functions reach it over loopback
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    moto = LocalAws(ip_address=args.aws_host, port=args.aws_port, verbose=False)
    moto.start()
    stop = threading.Event()
    pools: dict[str, Pool] = {}
    server = None
    endpoints_file: Path | None = None
    try:
        stack = load_stack(
            STACK, REGION, stack_parameters(args, endpoint), function_environment(args), args.template
        )
        aws = clients(endpoint, REGION)
        queues = provision(stack, aws)
        if store_company_lookup_token(stack, aws):
            _log(f"company lookups on: {stack.parameters.get('CompanyLookupUrl')}")
        if store_webhook_secret(stack, aws):
            _log(f"outbound webhook on: {stack.parameters['WebhookUrl']}")
        if store_slack_app_secret(stack, aws):
            _log(f"Slack buttons on: /slack/interactions, users from {stack.parameters.get('SlackApiUrl')}")
        write_sam_local_env(stack, args.notifications.parent / "sam-local-env.json")
        site = (
            f"http://{args.host}:{args.port}",
            f"http://localhost:{args.port}",
            f"http://127.0.0.1:{args.port}",
        )
        if "SourcesTable" in stack.resources:
            create_demo_source(stack, endpoint, tuple(dict.fromkeys(site)))
        users = create_local_users(stack, aws)
        tables = len(stack.of_type("AWS::DynamoDB::Table"))
        _log(f"created {tables} tables, {len(queues)} queues, the bus and its rules in local AWS")
        logs = args.notifications.parent / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for logical_id, function in stack.functions.items():
            log_path = None if args.verbose else logs / f"{logical_id}.log"
            pools[logical_id] = Pool(function, log_path, args.concurrency)
        start_pools(pools)
        _log(f"started {len(pools)} functions: {', '.join(pools)}")
        threads: list[threading.Thread] = [
            StreamPoller(stack, sub, pools[sub.function], aws, queues, stop, _log) for sub in stack.streams
        ]
        threads += [
            BusDelivery(
                rule,
                queues[delivery_queue_name(stack, rule.name)],
                pools[rule.function],
                aws,
                queues,
                stop,
                _log,
            )
            for rule in stack.rules
        ]
        threads += [
            ApiDestinationDelivery(
                stack, rule, queues[delivery_queue_name(stack, rule.name)], aws, queues, stop, _log
            )
            for rule in stack.api_rules
        ]
        threads.append(Scheduler(stack, pools, aws, queues, stop, _log))
        tail = NotificationTail(args.notifications, stop)
        threads.append(tail)
        for thread in threads:
            thread.start()
        server = make_server(
            args.host,
            args.port,
            stack.routes,
            pools,
            http_cors(stack),
            _log,
            DEMO_WRITE_KEY,
            args.body_timeout,
            stack.jwt_authorizers(),
            IssuerKeys(through(endpoint)),
        )
        endpoints_file = _write_endpoints(args, endpoint)
        _banner(args, stack, endpoint, users)
        if args.simulate:
            if SALES_USER not in users or "SourcesTable" not in stack.resources:
                _log(f"--simulate needs the template's user pool (its user {SALES_USER}) and SourcesTable")
            else:
                tail.quiet.set()
                QUIET.set()
                Simulation(args, stack, aws, users[SALES_USER], tail, stop).start()

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
    except FunctionError as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        if server is not None:
            server.server_close()
        for pool in pools.values():
            pool.stop()
        moto.stop()
        if endpoints_file is not None:
            endpoints_file.unlink(missing_ok=True)
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
