"""python -m cli accounts show <domain> [--days N] | list: an account as sales works it (score, stage,
engagement, fit, buying-committee coverage, surge), its score history (one point a day for the last N days,
its stage changes and surges: the same history as the API's account card) and its people, known ones by
name and title, anonymous ones as "anonymous visitor from <company>", each with their score and why they
count there (the basis).

Names, titles and e-mails are what visitors typed: printed through output.cell, never interpreted by the
terminal. The lead wires it into cli/__main__.py with `accounts.add_parser(commands)` and
`accounts.run(args, target)` for "accounts".
"""

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.accounts.model import AccountModel
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import HISTORY_DAYS, AccountLedger, AccountRepository
from leadstream.accounts.score import AccountState
from leadstream.identity.repository import ProfileRepository
from leadstream.sales.accounts import AccountHistory, account_history
from leadstream.sales.assignment import email_address
from leadstream.sales.owners import Owners
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository

from cli import options, output
from cli import target as targets
from cli.output import cell

DEFAULT_HISTORY_DAYS = 30


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    accounts = commands.add_parser("accounts", help="accounts: their score, committee coverage and people")
    actions = accounts.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="one account and its people (known and anonymous)")
    show.add_argument("domain", help="the account's domain, e.g. acme.com")
    show.add_argument(
        "--days",
        type=options.days(HISTORY_DAYS),
        default=DEFAULT_HISTORY_DAYS,
        help=f"days of score history shown (default {DEFAULT_HISTORY_DAYS}; at most {HISTORY_DAYS} are kept)",
    )
    show.add_argument("--json", action="store_true", help="print it as JSON (personal data: stdout only)")
    listing = actions.add_parser("list", help="every scored account, strongest first (scans the table)")
    listing.add_argument("--json", action="store_true")
    owner = actions.add_parser("owner", help="set who owns an account: its new SQLs are assigned to them")
    owner.add_argument("domain", help="the account's domain, e.g. acme.com")
    owner.add_argument("email", help="the owner's e-mail (a sales user)")


@dataclass(frozen=True)
class Member:
    lead_id: str
    person: str  # the name (or e-mail) of a known person; "anonymous visitor from <company>" otherwise
    title: str | None
    score: float
    basis: str | None
    anonymous: bool


def _models() -> tuple[AccountModel, ScoringModel]:
    return load_account_model(), load_model()


def _now(state: AccountState) -> datetime:
    now = datetime.now(UTC)
    return max(now, state.as_of) if state.as_of else now


def _members(
    target: targets.Target, ledger: AccountLedger, domain: str, company: str, leads: ScoringModel
) -> list[Member]:
    """The people the account counts (a Query of its partition, then each one's profile and score)."""
    counted = [mark for mark, _claims in ledger.members(domain) if mark.member]
    profiles = ProfileRepository(target.leads_table)
    scores = ScoreRepository(target.leads_table).load_many(m.lead_id for m in counted)
    now = datetime.now(UTC)
    found = []
    for mark in counted:
        profile = None if mark.anonymous else profiles.load(mark.lead_id)
        known = (profile.name or profile.email) if profile else None
        found.append(
            Member(
                mark.lead_id,
                known or f"anonymous visitor from {company}",
                profile.title if profile else None,
                round(scores[mark.lead_id].score.score_at(leads, now), 1),
                mark.basis,
                known is None,
            )
        )
    return sorted(found, key=lambda m: (-m.score, m.lead_id))


def _show(args: argparse.Namespace, target: targets.Target) -> int:
    ledger = AccountLedger(target.accounts_table, target.leads_table)
    domain = args.domain.strip().lower()
    state = ledger.state(domain)
    if state is None:
        print(f"error: no scored account {cell(domain)} (no lead change has reached it yet)", file=sys.stderr)
        return 1
    model, leads = _models()
    profile = AccountRepository(target.accounts_table).profile(domain)
    name = (profile.name if profile else None) or state.traits.get("name") or domain
    card = state.card(model, leads, _now(state))
    members = _members(target, ledger, domain, name, leads)
    surge = _surge(state, model)
    since = datetime.now(UTC) - timedelta(days=args.days)
    history = account_history(since, ledger.history(domain, since), ledger.events(domain))
    if args.json:
        doc: dict[str, Any] = {
            **card.model_dump(mode="json", exclude={"top_people"}),
            "name": name,
            "surge": surge,
            "history": history.model_dump(mode="json"),
            "members": [m.__dict__ for m in members],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=True, sort_keys=True))
        return 0
    print(f"Account {cell(name)} ({cell(domain)})")
    print(f"  score {card.score:g}, stage {card.stage}: engagement {card.engagement:g}, fit {card.fit}")
    roles = ", ".join(f"{model.label(role)} {n}" for role, n in card.roles.items())
    print(f"  buying committee {card.coverage:.0%} covered: {roles}")
    anonymous = f", {card.anonymous_people} anonymous" if card.anonymous_people else ""
    print(f"  {card.engaged_people} engaged of {card.people} people{anonymous}")
    if surge:
        print(f"  surging: since {surge}")
    _print_history(history, args.days)
    print(f"People ({len(members)}):")
    rows = [
        {
            "person": m.person,
            "title": m.title or "-",
            "score": f"{m.score:g}",
            "basis": m.basis or "-",
            "lead": m.lead_id,
        }
        for m in members
    ]
    output.table(rows, ["person", "title", "score", "basis", "lead"], sys.stdout)
    return 0


def _print_history(history: AccountHistory, days: int) -> None:
    """The score a day (the day's latest point), then the stage changes and surges of the same days."""
    changed = len(history.points)
    print(f"Score history, last {days} days ({changed} day{'' if changed == 1 else 's'} with a change):")
    if history.points:
        rows = [
            {
                "day": p.at.date().isoformat(),
                "score": f"{p.score:g}",
                "stage": p.stage,
                "engagement": f"{p.engagement:g}",
                "fit": str(p.fit),
                "committee": str(p.committee),
                "engaged": f"{p.engaged_people} of {p.people}",
            }
            for p in history.points
        ]
        output.table(rows, ["day", "score", "stage", "engagement", "fit", "committee", "engaged"], sys.stdout)
    else:
        print("  no change recorded in these days")
    for change in history.stage_changes:
        if change.at >= history.since:
            when = change.at.isoformat(timespec="minutes")
            print(f"  {when} stage {change.from_stage} -> {change.to_stage} at score {change.score:g}")
    for surge in history.surges:
        if surge.at >= history.since:
            when = surge.at.isoformat(timespec="minutes")
            print(
                f"  {when} surged: engagement +{surge.engagement_gain:g}, "
                f"engaged people +{surge.engaged_people_gain}"
            )


def _surge(state: AccountState, model: AccountModel) -> str | None:
    """When the account last surged, if that is within the model's surge window (still news)."""
    if state.last_surge_at is None:
        return None
    if datetime.now(UTC) - state.last_surge_at > timedelta(days=model.surge.window_days):
        return None
    return state.last_surge_at.isoformat(timespec="seconds")


def _list(args: argparse.Namespace, target: targets.Target) -> int:
    model, leads = _models()
    ledger = AccountLedger(target.accounts_table, target.leads_table)
    cards = [state.card(model, leads, _now(state)) for _domain, state in ledger.domains()]
    cards.sort(key=lambda c: (-c.score, c.domain))
    if args.json:
        print(json.dumps([c.model_dump(mode="json", exclude={"top_people"}) for c in cards], indent=2))
        return 0
    rows = [
        {
            "domain": c.domain,
            "name": c.name or "",
            "score": f"{c.score:g}",
            "stage": c.stage,
            "people": f"{c.people} ({c.anonymous_people} anonymous)" if c.anonymous_people else str(c.people),
            "engaged": str(c.engaged_people),
            "committee": f"{c.coverage:.0%}",
        }
        for c in cards
    ]
    output.table(rows, ["domain", "name", "score", "stage", "people", "engaged", "committee"], sys.stdout)
    return 0


def run(args: argparse.Namespace, target: targets.Target) -> int:
    if not target.accounts_table:
        raise targets.TargetError("the stack has no AccountsTableName output: is it a Leadstream stack?")
    if args.action == "owner":
        return _owner(args, target)
    return _show(args, target) if args.action == "show" else _list(args, target)


def _owner(args: argparse.Namespace, target: targets.Target) -> int:
    """The account's owner: the assignment rules give them every lead of the account that reaches sales
    without an owner (a lead that has one keeps it)."""
    domain = args.domain.strip().lower()
    try:
        owner = email_address(args.email)
    except ValueError:
        print(f"error: {cell(args.email)} is not an e-mail address", file=sys.stderr)
        return 2
    if not Owners(target.accounts_table).set_account_owner(domain, owner, datetime.now(UTC)):
        print(f"error: no account {cell(domain)} (an account is made when a lead joins it)", file=sys.stderr)
        return 1
    print(f"Account {cell(domain)} is owned by {cell(owner)}: its new leads for sales are assigned to them")
    return 0
