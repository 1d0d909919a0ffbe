"""python -m cli people export|erase|merges <email>: what is held about a person, erasing it, and how
their leads became one; python -m cli people unmerge <email or lead id> --lead <lead> --reason <why>:
undoing a wrong merge.

Personal data goes to stdout only (never to logs); progress and questions go to stderr. The lead wires it
into cli/__main__.py with `people.add_parser(commands)` and `people.run(args, target)` for "people".
"""

import argparse
import getpass
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from leadstream.accounts.departure import Departures
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.archive.erasure import ArchiveErasure
from leadstream.archive.store import ArchiveStore
from leadstream.identity.history import merge_history
from leadstream.identity.merges import Merge
from leadstream.identity.provenance_repository import ClaimRepository
from leadstream.identity.repository import IdentityRepository
from leadstream.identity.unmerge import Unmerge
from leadstream.privacy.people import People, Person
from leadstream.privacy.repository import IdempotencyRecords, ParkedMessages, PrivacyRepository, Raw
from leadstream.scoring.model_file import load_model
from leadstream.scoring.rebuild import Rebuild
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository

from cli import output
from cli import target as targets
from cli.output import cell


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    people = commands.add_parser("people", help="export or erase everything held about a person")
    actions = people.add_subparsers(dest="action", required=True)
    for name, text in (
        ("export", "print every item held about the person as JSON (personal data: stdout only)"),
        ("erase", "delete every item about the person and suppress their identifiers"),
        ("merges", "list the merges that made the person's lead: why, from which source, when"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("email")
        action.add_argument(
            "--scan",
            action="store_true",
            help="also scan all identifier links (data stored before leads recorded their identifiers; "
            "done anyway when the lead has no such records)",
        )
        if name == "erase":
            action.add_argument("--yes", action="store_true", help="erase without asking")
            action.add_argument("--json", action="store_true", help="report as JSON")
    unmerge = actions.add_parser(
        "unmerge",
        help="undo a wrong merge: the lead merged is a lead of its own again, both leads are rescored",
    )
    unmerge.add_argument("person", help="the e-mail or a lead id of the person the lead was merged into")
    unmerge.add_argument("--lead", required=True, help="the lead to split off (`people merges` lists them)")
    unmerge.add_argument(
        "--reason", required=True, help="why the merge was wrong (kept with the merge's record)"
    )
    unmerge.add_argument("--by", default=None, help="who undoes it (default: the user running the command)")


def _people(target: targets.Target) -> People:
    if not target.accounts_table:
        raise targets.TargetError("the stack has no AccountsTableName output: is it a Leadstream stack?")
    parked = ParkedMessages(target.notify_failures_queue) if target.notify_failures_queue else None
    effects = IdempotencyRecords(target.idempotency_table) if target.idempotency_table else None
    departures = Departures(
        AccountLedger(target.accounts_table, target.leads_table), load_account_model(), load_model()
    )
    archive = ArchiveErasure(ArchiveStore(target.archive_bucket)) if target.archive_bucket else None
    return People(
        PrivacyRepository(target.leads_table, target.accounts_table), parked, effects, departures, archive
    )


def _find(people: People, args: argparse.Namespace) -> Person:
    def scanned(items: Iterator[Raw]) -> Iterable[Raw]:
        print("scanning identifier links (older data)…", file=sys.stderr)
        return output.progress(items, sys.stderr, noun="links")

    return people.find(args.email, True if args.scan else None, scanned)


def _confirmed(args: argparse.Namespace, person: Person) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print("error: erase asks for confirmation; pass --yes when not at a terminal", file=sys.stderr)
        return False
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(person.counts().items()))
    print(
        f"Erase {cell(person.email)} (lead {person.lead_id}): {counts or 'nothing stored'}?", file=sys.stderr
    )
    answer = input("Type 'erase' to go on: ")
    return answer.strip().lower() == "erase"


def _merges(args: argparse.Namespace, target: targets.Target) -> int:
    root, merges = merge_history(IdentityRepository(target.leads_table), args.email)
    print(f"Lead {root}: {len(merges)} merge(s).")
    rows = [
        {
            "at": m.at.isoformat(timespec="seconds"),
            "lead": m.lead_id,
            "into": m.into,
            "cause": m.cause,
            "call": m.call,
            "source": m.source_id or "",
        }
        for m in merges
    ]
    output.table(rows, ["at", "lead", "into", "cause", "call", "source"], sys.stdout)
    if merges:
        print()
        print("Undo:")
        for m in merges:
            print(f"  {m.lead_id}: {_undo(root, m)}")
    _claims(IdentityRepository(target.leads_table), ClaimRepository(target.leads_table), root)
    return 0


def _undo(root: str, merge: Merge) -> str:
    """How to undo a merge (a command to copy), or why it cannot be, or when it was."""
    if merge.undone is not None:
        at = merge.undone.at.isoformat(timespec="seconds")
        return f"undone {at} by {cell(merge.undone.by)}: {cell(merge.undone.reason)}"
    if not merge.undoable:
        return "recorded before merges kept what undoing them needs: cannot be undone"
    return f"python -m cli people unmerge {root} --lead {merge.lead_id} --reason '<why it was wrong>'"


def _unmerge(args: argparse.Namespace, target: targets.Target) -> int:
    identities = IdentityRepository(target.leads_table)
    scores = ScoreRepository(target.leads_table)
    unmerge = Unmerge(identities, Rebuild(EventRepository(target.leads_table), scores, load_model()))
    person = args.person
    if "@" in person:
        person = merge_history(identities, person)[0]
    merge = unmerge.find(person, args.lead)
    by = args.by or _operator()

    def say(line: str) -> None:
        print(line, file=sys.stderr)

    done = unmerge.run(merge, by, args.reason, say)
    if done.already:
        assert merge.undone is not None
        at = merge.undone.at.isoformat(timespec="seconds")
        print(f"Lead {merge.lead_id} was split off lead {merge.into} before ({at}): nothing to do.")
        return 0
    print(f"Lead {merge.lead_id} split off lead {merge.into}: a lead of its own again.")
    rows = [
        {"lead": lead, "events": r.events, "new stages": r.transitions}
        for lead, r in ((merge.lead_id, done.restored), (done.root, done.kept))
        if r is not None
    ]
    output.table(rows, ["lead", "events", "new stages"], sys.stdout)
    print(f"Links handed back: {done.links}; members moved back: {done.members}.")
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def _claims(identities: IdentityRepository, claims: ClaimRepository, root: str) -> None:
    """The pending claims on the person's leads: calls that named them from a device not known to be
    theirs, with a key that may not join it to them (README "Trust model"). Printed only if any."""
    pending = [
        c for c in claims.of([root, *sorted(identities.marks([root])[root].members)]) if not c.confirmed_at
    ]
    if not pending:
        return
    print(f"Pending claims: {len(pending)} (not merged: a form or a server key from that device would).")
    rows = [
        {
            "at": c.at.isoformat(timespec="seconds"),
            "device lead": c.device_lead,
            "claimed": c.lead_id,
            "named by": c.named_by,
            "call": c.call,
            "source": c.source_id or "",
            "rank": c.rank.label,
        }
        for c in pending
    ]
    output.table(rows, ["at", "device lead", "claimed", "named by", "call", "source", "rank"], sys.stdout)


def run(args: argparse.Namespace, target: targets.Target) -> int:
    if args.action == "merges":
        return _merges(args, target)
    if args.action == "unmerge":
        return _unmerge(args, target)
    people = _people(target)
    person = _find(people, args)
    if args.action == "export":
        people.release(person)
        exported = person.export()
        archived = people.archived(person)
        if archived:
            exported["items"]["archived_records"] = archived
        print(json.dumps(exported, indent=2, ensure_ascii=True, sort_keys=True))
        return 0
    if not _confirmed(args, person):
        people.release(person)
        return 1
    secret = targets.secret_value(target, target.link_secret)
    erased = people.erase(person, secret, datetime.now(UTC))
    if args.json:
        print(
            json.dumps({"lead_id": person.lead_id, "removed": erased.counts, "suppressed": erased.suppressed})
        )
        return 0
    print(f"Erased lead {person.lead_id} ({len(person.leads)} lead partition(s)).")
    rows = [{"kind": kind, "removed": n} for kind, n in sorted(erased.counts.items())]
    output.table(rows, ["kind", "removed"], sys.stdout)
    print(f"Suppression entries written ({len(erased.suppressed)}): " + " ".join(erased.suppressed))
    return 0
