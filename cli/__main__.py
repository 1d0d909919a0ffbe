"""Leadstream operator commands, for the local stack of `make run` or a deployed one.

  python -m cli sources create "Marketing site" --origin https://www.example.com
  python -m cli sources create "Backend" --server      (a secret key for servers: trusted calls)
  python -m cli sources list
  python -m cli sources rotate <source-id>            (the old key keeps working for --grace-hours)
  python -m cli sources origins <source-id> --add https://shop.example.com [--remove URL]
  python -m cli sources disable <source-id>           (enable to undo)
  python -m cli links sign --url https://www.example.com/offer --email jane@acme.com --campaign launch
  python -m cli report [--json] [--by channel|campaign] [--since DAY] [--until DAY]  (source quality)
  python -m cli report speed [--json] [--since DAY] [--until DAY]  (speed to lead: p50/p95, breaches)
  python -m cli people export jane@acme.com           (everything held about a person, as JSON)
  python -m cli people erase jane@acme.com --yes      (deletes it all; a suppression entry stays)
  python -m cli people merges jane@acme.com          (why her leads became one; how to undo each merge)
  python -m cli people unmerge jane@acme.com --lead <lead id> --reason "shared laptop"  (splits it off)
  python -m cli accounts show acme.com                (score, committee, people known and anonymous)
  python -m cli accounts list                         (every scored account, strongest first)
  python -m cli accounts owner acme.com anna@example.com  (its new SQLs are assigned to her)
  python -m cli redrive PublishFailuresQueue [--dry-run]  (what is parked, why; replays what it can)
  python -m cli model backtest --model candidate.yaml [--json]  (the archive replayed beside the live model)
  python -m cli token --user sales@example.com       (signs in; prints a token for the sales API)

Add --stack <name> [--region <region>] to work on a deployed stack (AWS credentials as usual);
without it the commands talk to the local AWS of a running `make run`, at the addresses it wrote to
.local/endpoints.json (--endpoint and --api to change them). Snippets and links point at the API of the
stack worked on (--api to change it).
"""

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from leadstream.notifications.message import for_terminal
from leadstream.platform.errors import LeadstreamError, StoreUnavailable
from leadstream.sources.directory import SourceAdmin, mask
from leadstream.sources.model import DEFAULT_RETENTION_DAYS, IpMode, Privacy, SourceStatus, Trust
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import email_links
from pynamodb.exceptions import PynamoDBException

from cli import accounts, model, options, output, people, redrive, reports, token
from cli import target as targets
from cli.output import cell


def _sources(args: argparse.Namespace, target: targets.Target) -> int:
    repo = SourceRepository(target.sources_table)
    admin = SourceAdmin(repo)
    now = datetime.now(UTC)
    if args.action == "create":
        if args.lead_retention_days is not None and args.lead_retention_days < args.retention_days:
            print(
                f"error: --lead-retention-days ({args.lead_retention_days}) must be at least "
                f"--retention-days ({args.retention_days}): a lead outlives its raw events",
                file=sys.stderr,
            )
            return 2
        if args.server and args.origin:
            print(
                "error: a --server source takes no --origin: browsers are refused with its key "
                "(create a browser source for web pages)",
                file=sys.stderr,
            )
            return 2
        privacy = Privacy(
            IpMode(args.ip_mode), args.retention_days, not args.ignore_dnt, args.lead_retention_days
        )
        trust = Trust.SERVER if args.server else Trust.BROWSER
        created = admin.create(
            args.name, tuple(args.origin), privacy, now, allow_import=args.allow_import, trust=trust
        )
        print(f"Created source {created.source.id} ({cell(created.source.name)}).")
        print(f"Write key: {created.write_key}")
        if args.server:
            print("A server key: keep it secret, on your servers (Segment server SDKs: the write key).")
            print("Calls with it are trusted (README: Trust model); a browser sending it is refused.")
            return 0
        tag = f'<script async src="{target.api_url}/v1/lb.js" data-write-key="{created.write_key}"></script>'
        print(f"Snippet:   {tag}")
        if not args.origin:
            print("No --origin given: browsers cannot send with this key (servers and SDKs can).")
            print(f"Add a site later: python -m cli sources origins {created.source.id} --add <origin>")
        else:
            print(f"Browsers on {', '.join(created.source.allowed_origins)} can send now (no redeploy).")
        return 0
    if args.action == "origins":
        return _origins(args, admin, now)
    if args.action == "reindex":
        changed = admin.reindex_origins()
        print(f"Origin index rebuilt from the sources: {changed} item(s) written or removed.")
        return 0
    if args.action == "list":
        rows = []
        since = (now - timedelta(days=7)).date().isoformat()
        for source in repo.sources():
            keys = [k for k in repo.keys_of(source.id) if k.valid_at(now)]
            bots = sum(n for day, n in repo.bot_hits(source.id).items() if day >= since)
            rows.append(
                {
                    "id": source.id,
                    "name": source.name,
                    "status": source.status.value,
                    "trust": source.trust.value,
                    "origins": ",".join(source.allowed_origins) or "-",
                    "keys": " ".join(mask(k.key) for k in keys) or "-",
                    "ip": source.privacy.ip_mode.value,
                    "retention": f"{source.privacy.retention_days}d",
                    "lead_retention": (
                        f"{source.privacy.lead_retention_days}d"
                        if source.privacy.lead_retention_days
                        else "stack default"
                    ),
                    "dnt": "honoured" if source.privacy.honour_dnt else "ignored",
                    "bots_7d": bots,
                }
            )
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            columns = [
                *("id", "name", "status", "trust", "origins", "keys", "ip"),
                *("retention", "lead_retention", "dnt", "bots_7d"),
            ]
            output.table(rows, columns, sys.stdout)
        return 0
    if args.action == "rotate":
        key = admin.rotate(args.source_id, timedelta(hours=args.grace_hours), now)
        print(f"New write key for {cell(args.source_id)}: {key}")
        print(f"The old key(s) stop working in {args.grace_hours} h: update your sites before then.")
        return 0
    status = SourceStatus.DISABLED if args.action == "disable" else SourceStatus.ACTIVE
    admin.set_status(args.source_id, status, now)
    print(f"Source {cell(args.source_id)} is {status.value} (takes effect within a minute).")
    return 0


def _origins(args: argparse.Namespace, admin: SourceAdmin, now: datetime) -> int:
    source = admin.get(args.source_id)
    if args.add or args.remove:
        changed = admin.set_origins(source.id, tuple(args.add), tuple(args.remove), now)
        added = [o for o in changed.allowed_origins if o not in source.allowed_origins]
        removed = [o for o in source.allowed_origins if o not in changed.allowed_origins]
        if added:
            print(f"Added {', '.join(added)}: browsers there can send now (no redeploy).")
        if removed:
            print(f"Removed {', '.join(removed)}: browsers there are refused within a minute.")
        if not added and not removed:
            print("Nothing changed.")
        source = changed
    shown = ", ".join(source.allowed_origins) or "none (browsers cannot send with its keys)"
    print(f"Origins of {cell(source.id)}: {cell(shown)}")
    if not source.active:
        print("The source is disabled: browsers are refused until `sources enable`.")
    return 0


def _links(args: argparse.Namespace, target: targets.Target) -> int:
    secret = targets.secret_value(target, target.link_secret)
    api = target.api_url.rstrip("/")
    params = {
        email_links.RECIPIENT: email_links.recipient_token(args.email, secret) if args.email else "",
        email_links.CAMPAIGN: args.campaign or "",
    }
    if args.url:
        params_with_url = {**params, email_links.TARGET: args.url}
        click = f"{api}/v1/c?{email_links.signed_query(params_with_url, secret)}"
    else:
        click = None
    pixel = f"{api}/v1/o.gif?{email_links.signed_query(params, secret)}"
    if args.json:
        print(json.dumps({"click": click, "pixel": pixel}))
    else:
        if click:
            print(f"Link:  {click}")
        print(f'Pixel: <img src="{pixel}" width="1" height="1" alt="">')
    return 0


def _days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError("must be at least 1 (retried messages are recognised while kept)")
    return days


API_HELP = "tracking API base URL for snippets and links (default: the API of the stack worked on)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--stack", help="deployed stack name (default: the local stack of make run)")
    top.add_argument("--region", help="AWS region of the deployed stack")
    top.add_argument(
        "--endpoint",
        type=options.base_url,
        help="local AWS endpoint (default: that of the running make run, from .local/endpoints.json)",
    )
    top.add_argument("--api", type=options.base_url, help=API_HELP)
    commands = top.add_subparsers(dest="command", required=True)

    sources = commands.add_parser("sources", help="websites and apps that send data, and their write keys")
    actions = sources.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new source and its write key")
    create.add_argument("name")
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        type=options.origin,
        help="allowed site origin, scheme://host[:port], e.g. https://www.example.com (repeat)",
    )
    create.add_argument("--api", type=options.base_url, default=argparse.SUPPRESS, help=API_HELP)
    create.add_argument("--ip-mode", choices=[m.value for m in IpMode], default=IpMode.TRUNCATE.value)
    create.add_argument(
        "--retention-days",
        type=_days,
        default=DEFAULT_RETENTION_DAYS,
        help="raw events kept this long (>= 1)",
    )
    create.add_argument(
        "--lead-retention-days",
        type=_days,
        default=None,
        help="a lead (profile, score, links) is kept this long after its last activity (>= --retention-days; "
        "default: the stack's LeadRetentionDays)",
    )
    create.add_argument("--ignore-dnt", action="store_true", help="store calls from DNT/GPC browsers too")
    create.add_argument(
        "--allow-import",
        action="store_true",
        help="its key may send history to /v1/import (backfills, migrations); live keys should not",
    )
    create.add_argument(
        "--server",
        action="store_true",
        help="a server source: its key is a secret kept on your servers (trusted: it may correct what "
        "browsers cannot); a call with it from a browser is refused",
    )
    listing = actions.add_parser("list", help="sources, masked keys, privacy settings, bot hits")
    listing.add_argument("--json", action="store_true")
    rotate = actions.add_parser("rotate", help="issue a new write key")
    rotate.add_argument("source_id")
    rotate.add_argument("--grace-hours", type=float, default=24.0)
    for name in ("disable", "enable"):
        actions.add_parser(name, help=f"{name} a source").add_argument("source_id")
    origins = actions.add_parser("origins", help="show, add or remove the sites a source's browsers use")
    origins.add_argument("source_id")
    for flag, verb in (("--add", "allow"), ("--remove", "stop allowing")):
        origins.add_argument(
            flag,
            action="append",
            default=[],
            type=options.origin,
            help=f"{verb} a site origin, scheme://host[:port], e.g. https://www.example.com (repeat)",
        )
    actions.add_parser("reindex", help="rebuild the CORS origin index from the sources (after an upgrade)")

    sign = commands.add_parser("links", help="signed e-mail links and open pixels")
    sign_actions = sign.add_subparsers(dest="action", required=True)
    signer = sign_actions.add_parser("sign")
    signer.add_argument("--url", help="where the link goes (omit for a pixel only)")
    signer.add_argument("--email", help="the recipient (sent as a hash, never in clear)")
    signer.add_argument("--campaign")
    signer.add_argument("--api", type=options.base_url, default=argparse.SUPPRESS, help=API_HELP)
    signer.add_argument("--json", action="store_true")

    reports.add_parser(commands)
    people.add_parser(commands)
    accounts.add_parser(commands)
    redrive.add_parser(commands)
    token.add_parser(commands)
    model.add_parser(commands)
    return top


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what led to it (raised from, raised while handling, PynamoDB's `cause`)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for earlier in (current.__cause__, current.__context__, getattr(current, "cause", None)):
            if isinstance(earlier, BaseException):
                todo.append(earlier)


def _unreachable(exc: BaseException) -> bool:
    """The endpoint did not answer (refused, unknown host, timed out, connection dropped)."""
    network = (BotocoreConnectionError, HTTPClientError, ConnectionError, TimeoutError)
    return any(isinstance(cause, network) for cause in _causes(exc))


def _error_code(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ClientError):
            return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


def _explain(exc: Exception, args: argparse.Namespace, target: targets.Target | None) -> str:
    """What went wrong, and the option that fixes it."""
    local = not args.stack
    endpoint = target.endpoint if target else args.endpoint
    if _unreachable(exc):
        if local:
            return (
                f"cannot reach the local AWS at {endpoint}: is `make run` running? "
                "(or pass --endpoint <url>, or --stack <name>)"
            )
        region = target.region if target else args.region or "the default region"
        return f"cannot reach AWS in {region} ({exc}): check the network (or pass --region <region>)"
    code = _error_code(exc)
    if local and code == "ResourceNotFoundException":
        return (
            f"the AWS at {endpoint} has no Leadstream stack ({exc}): is it `make run`'s? "
            "(or pass --endpoint <url>, or --stack <name>)"
        )
    if isinstance(exc, NoCredentialsError):
        return (
            f"no AWS credentials found: configure them (aws configure, AWS_PROFILE) for --stack {args.stack}"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region <region> (or set AWS_REGION)"
    if code == "ValidationError" and target is None:  # CloudFormation: no such stack
        return f"{exc}: check --stack and --region"
    if isinstance(exc, StoreUnavailable) and exc.__cause__ is not None:
        return f"{exc}: {exc.__cause__}"
    return str(exc)


def _quiet_stdout() -> None:
    """The reader of stdout is gone (`python -m cli report | head`): what is still buffered goes nowhere,
    so that exiting does not complain a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a file (a test's capture): nothing is buffered in a descriptor
        pass


# 128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away
BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.stack and args.endpoint:
        cli.error("--endpoint is for the local stack of make run; leave it out with --stack")
    commands = {
        "sources": _sources,
        "links": _links,
        "report": reports.run,
        "people": people.run,
        "accounts": accounts.run,
        "redrive": redrive.run,
        "token": token.run,
        "model": model.run,
    }
    target = None
    try:
        target = (
            targets.deployed(args.stack, args.region, args.api)
            if args.stack
            else targets.local(args.endpoint, args.api)
        )
        code = commands[args.command](args, target)
        sys.stdout.flush()  # a reader that went away is noticed here, not at exit
        return code
    except BrokenPipeError:  # stdout's reader stopped reading: as Unix tools do, stop quietly
        _quiet_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except (
        LookupError,
        LeadstreamError,
        targets.TargetError,
        ClientError,
        BotoCoreError,
        PynamoDBException,
        ConnectionError,
    ) as exc:
        print(f"error: {for_terminal(_explain(exc, args, target))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
