"""Leadstream operator commands, for the local stack of `make run` or a deployed one.

  python -m cli sources create "Marketing site" --origin https://www.example.com
  python -m cli sources list
  python -m cli sources rotate <source-id>            (the old key keeps working for --grace-hours)
  python -m cli sources disable <source-id>           (enable to undo)
  python -m cli links sign --url https://www.example.com/offer --email jane@acme.com --campaign launch
  python -m cli report [--json] [--by channel|campaign]

Add --stack <name> [--region <region>] to work on a deployed stack (AWS credentials as usual);
without it the commands talk to the local AWS of a running `make run` (--endpoint to change it).
"""

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from leadstream.identity.identifiers import email_digest
from leadstream.platform.errors import LeadstreamError
from leadstream.scoring.report import source_quality
from leadstream.scoring.repository import ScoreRepository
from leadstream.sources.directory import SourceAdmin, mask
from leadstream.sources.model import DEFAULT_RETENTION_DAYS, IpMode, Privacy, SourceStatus
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import email_links
from pynamodb.exceptions import PynamoDBException

from cli import target as targets


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def _sources(args: argparse.Namespace, target: targets.Target) -> int:
    repo = SourceRepository(target.sources_table)
    admin = SourceAdmin(repo)
    now = datetime.now(UTC)
    if args.action == "create":
        privacy = Privacy(IpMode(args.ip_mode), args.retention_days, not args.ignore_dnt)
        created = admin.create(args.name, tuple(args.origin), privacy, now)
        print(f"Created source {created.source.id} ({created.source.name}).")
        print(f"Write key: {created.write_key}")
        tag = f'<script async src="{target.api_url}/v1/lb.js" data-write-key="{created.write_key}"></script>'
        print(f"Snippet:   {tag}")
        if not args.origin:
            print("No --origin given: browsers cannot send with this key (servers and SDKs can).")
        else:
            print(
                "Browsers also need these origins in the stack's AllowedOrigins parameter (CORS), e.g. "
                f"sam deploy --parameter-overrides AllowedOrigins={','.join(args.origin)},<the others>"
            )
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
                    "origins": ",".join(source.allowed_origins) or "-",
                    "keys": " ".join(mask(k.key) for k in keys) or "-",
                    "ip": source.privacy.ip_mode.value,
                    "retention": f"{source.privacy.retention_days}d",
                    "dnt": "honoured" if source.privacy.honour_dnt else "ignored",
                    "bots_7d": bots,
                }
            )
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            _print_table(
                rows, ["id", "name", "status", "origins", "keys", "ip", "retention", "dnt", "bots_7d"]
            )
        return 0
    if args.action == "rotate":
        key = admin.rotate(args.source_id, timedelta(hours=args.grace_hours), now)
        print(f"New write key for {args.source_id}: {key}")
        print(f"The old key(s) stop working in {args.grace_hours} h: update your sites before then.")
        return 0
    status = SourceStatus.DISABLED if args.action == "disable" else SourceStatus.ACTIVE
    admin.set_status(args.source_id, status, now)
    print(f"Source {args.source_id} is {status.value} (takes effect within a minute).")
    return 0


def _links(args: argparse.Namespace, target: targets.Target) -> int:
    secret = targets.secret_value(target, target.link_secret)
    api = (args.api or target.api_url).rstrip("/")
    params = {
        email_links.RECIPIENT: email_digest(args.email) if args.email else "",
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


def _report(args: argparse.Namespace, target: targets.Target) -> int:
    rows = source_quality(ScoreRepository(target.leads_table).scores(), args.by == "campaign")
    data = [r.as_dict() for r in rows]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0

    def pct(value: object) -> str:
        return "-" if value is None else f"{float(str(value)) * 100:.0f}%"

    rates = ("visitor_to_lead", "lead_to_mql", "mql_to_sql")
    shown = [{**d, **{r: pct(d[r]) for r in rates}} for d in data]
    _print_table(shown, ["channel", "campaign", "visitors", "leads", "mqls", "sqls", *rates])
    return 0


def _days(text: str) -> int:
    days = int(text)
    if days < 1:
        raise argparse.ArgumentTypeError("must be at least 1 (retried messages are recognised while kept)")
    return days


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m cli", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--stack", help="deployed stack name (default: the local stack of make run)")
    top.add_argument("--region", help="AWS region of the deployed stack")
    top.add_argument("--endpoint", default=targets.LOCAL_ENDPOINT, help="local AWS endpoint (moto)")
    commands = top.add_subparsers(dest="command", required=True)

    sources = commands.add_parser("sources", help="websites and apps that send data, and their write keys")
    actions = sources.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new source and its write key")
    create.add_argument("name")
    create.add_argument("--origin", action="append", default=[], help="allowed site origin (repeat)")
    create.add_argument("--ip-mode", choices=[m.value for m in IpMode], default=IpMode.TRUNCATE.value)
    create.add_argument(
        "--retention-days",
        type=_days,
        default=DEFAULT_RETENTION_DAYS,
        help="raw events kept this long (>= 1)",
    )
    create.add_argument("--ignore-dnt", action="store_true", help="store calls from DNT/GPC browsers too")
    listing = actions.add_parser("list", help="sources, masked keys, privacy settings, bot hits")
    listing.add_argument("--json", action="store_true")
    rotate = actions.add_parser("rotate", help="issue a new write key")
    rotate.add_argument("source_id")
    rotate.add_argument("--grace-hours", type=float, default=24.0)
    for name in ("disable", "enable"):
        actions.add_parser(name, help=f"{name} a source").add_argument("source_id")

    sign = commands.add_parser("links", help="signed e-mail links and open pixels")
    sign_actions = sign.add_subparsers(dest="action", required=True)
    signer = sign_actions.add_parser("sign")
    signer.add_argument("--url", help="where the link goes (omit for a pixel only)")
    signer.add_argument("--email", help="the recipient (sent as a hash, never in clear)")
    signer.add_argument("--campaign")
    signer.add_argument("--api", help="API base URL (default: the stack's)")
    signer.add_argument("--json", action="store_true")

    report = commands.add_parser("report", help="source quality per channel / campaign")
    report.add_argument("--by", choices=["channel", "campaign"], default="campaign")
    report.add_argument("--json", action="store_true")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    target = targets.deployed(args.stack, args.region) if args.stack else targets.local(args.endpoint)
    commands = {"sources": _sources, "links": _links, "report": _report}
    try:
        return commands[args.command](args, target)
    except (LookupError, LeadstreamError) as exc:
        hint = " Is `make run` running? (or pass --stack)" if target.endpoint else ""
        print(f"error: {exc}.{hint}", file=sys.stderr)
        return 1
    except (EndpointConnectionError, ConnectionError, PynamoDBException) as exc:
        where = target.endpoint or "AWS"
        print(
            f"error: cannot reach {where} ({exc}). Is `make run` running? (or pass --stack)", file=sys.stderr
        )
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
