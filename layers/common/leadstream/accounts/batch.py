"""Rolling a LeadsTable stream batch of lead changes up into their accounts, O(1) per lead change.

Per batch: the STATE images are read from the records (no I/O), and only the leads whose score, fit, stage,
known-ness, company (by IP) or merge changed go on; one BatchGetItem of their PROFILEs says which accounts
claimed each (group calls, e-mails), and the STATE's `company` adds the one its network names; one
BatchGetItem reads those accounts' STATE and the changed members' marks and claims. `membership.decide`
picks the ONE account each lead counts in (group call > e-mail domain > company by IP); the others it was
counted in see it leave. Then one TransactWriteItems per account (in parallel) saves its STATE (conditional
on its version), the members' new marks and an ATRANS# outbox item per account event. An account is never
read member by member: `apply_change` takes the member's mark out and its new version in. A lead merged
into another leaves every account it counted in: its root carries its history from then on.

The AccountsTable stream brings an account's PROFILE (a join names it, a group call sets its traits):
`describe` applies its traits first, in the same transaction as the account's lead changes.

A lead's change is its STATE's `version` (monotonic), so a replayed or out-of-order record is a no-op
(`apply_change` ignores a version not newer than the mark); a PROFILE's version is its write time. A
write that loses to another writer fails that account's records, which the stream redelivers.
"""

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from leadstream.accounts.membership import Basis, claims_of, decide
from leadstream.accounts.model import AccountModel
from leadstream.accounts.repository import AccountLedger, LeadAccounts, Stored
from leadstream.accounts.score import (
    AccountEvent,
    LeadChange,
    MemberMark,
    apply_change,
    describe,
    score_point,
)
from leadstream.platform.observability import logger
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.repository import ScoreRepository

PARALLEL_WRITES = 16
MEMBERS_PER_WRITE = 90  # a transaction holds 100 items: STATE, the marks, a few events and the score point

# The STATE attributes an account reads: a change to anything else (counters, touches, replay guards)
# does not reach the account.
_COUNTED = ("behaviour", "as_of", "fit", "stage", "known", "company")


@dataclass(frozen=True)
class _Traits:
    """An account's latest traits in the batch (from its PROFILE: a join or a group call)."""

    traits: dict[str, str]
    version: int
    at: datetime
    sequences: list[str]


@dataclass(frozen=True)
class BatchResult:
    lead_changes: int  # leads whose change mattered to an account
    accounts_updated: int
    events: int
    failed_sequence_numbers: list[str]


@dataclass
class _Lead:
    change: LeadChange
    sequences: list[str] = field(default_factory=list)
    company: str | None = None  # the latest STATE's company by IP (None: merged, or none)
    companies: set[str] = field(default_factory=set)  # every company the batch's images named: the lead
    # may have counted in an earlier one


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="account")


def _sequence(record: DynamoDBRecord) -> str:
    seq = record.dynamodb.sequence_number if record.dynamodb else None
    if seq is None:
        raise ValueError("a stream record without a sequence number")
    return seq


def _counted(image: dict[str, Any] | None) -> list[Any]:
    return [None if image is None else image.get(name) for name in _COUNTED]


def _company(image: dict[str, Any] | None) -> str | None:
    value = (image or {}).get("company", {}).get("S")
    return str(value) if value else None


def _change(record: DynamoDBRecord, scores: ScoreRepository) -> tuple[LeadChange, set[str]] | None:
    """The lead change a STATE record carries with the companies its images name, or None when nothing
    an account reads changed. A lead just merged into another is a change too: it leaves its accounts."""
    stream = record.raw_event["dynamodb"]
    new, old = stream.get("NewImage"), stream.get("OldImage")
    if not new or "version" not in new or "erased" in new:
        return None
    lead = scores.from_image(new)
    version = int(new["version"]["N"])
    created = stream.get("ApproximateCreationDateTime")
    at = (
        lead.last_seen
        or lead.as_of
        or (datetime.fromtimestamp(created, UTC) if created else datetime.now(UTC))
    )
    companies = {c for c in (_company(old), _company(new)) if c}
    if "merged_into" in new:
        if old is not None and "merged_into" in old:
            return None  # moved up to its root (a path compression): it left its accounts already
        return LeadChange.left(lead.lead_id, version, at), companies
    if old is not None and _counted(old) == _counted(new):
        return None
    return LeadChange.of(lead, version, at, None), companies


def lead_changes(
    records: list[DynamoDBRecord], scores: ScoreRepository
) -> tuple[dict[str, _Lead], list[str]]:
    """Each lead's latest change in the batch (its records' sequence numbers with it), and the sequence
    numbers of records that cannot be read."""
    leads: dict[str, _Lead] = {}
    unreadable: list[str] = []
    for record in records:
        seq = _sequence(record)
        try:
            change = _change(record, scores)
        except Exception as exc:
            logger.error("unreadable lead state record", sequence_number=seq, error=type(exc).__name__)
            unreadable.append(seq)
            continue
        if change is None:
            continue
        latest, companies = change
        new = record.raw_event["dynamodb"]["NewImage"]
        company = _company(new) if latest.member else None
        known = leads.get(latest.lead_id)
        if known is None:
            leads[latest.lead_id] = _Lead(latest, [seq], company, companies)
        else:
            known.sequences.append(seq)
            known.companies |= companies
            if latest.version > known.change.version:
                known.change, known.company = latest, company
    return leads, unreadable


def _is_account(record: DynamoDBRecord) -> bool:
    return str(record.raw_event["dynamodb"]["Keys"]["pk"]["S"]).startswith("ACCOUNT#")


def account_traits(
    records: list[DynamoDBRecord], ledger: AccountLedger
) -> tuple[dict[str, _Traits], list[str]]:
    """Each account's latest traits among the batch's account PROFILE records, and the unreadable ones."""
    found: dict[str, _Traits] = {}
    unreadable: list[str] = []
    for record in records:
        seq = _sequence(record)
        try:
            domain, traits, version, at = ledger.traits_from_image(record.raw_event["dynamodb"]["NewImage"])
        except Exception as exc:
            logger.error("unreadable account profile record", sequence_number=seq, error=type(exc).__name__)
            unreadable.append(seq)
            continue
        known = found.get(domain)
        if known is None or version > known.version:
            found[domain] = _Traits(traits, version, at, [*(known.sequences if known else []), seq])
        else:
            known.sequences.append(seq)
    return found, unreadable


def _as_member(change: LeadChange, title: str | None, basis: Basis) -> LeadChange:
    return replace(change, title=title, basis=basis.value)


def _memberships(
    changed: dict[str, _Lead],
    profiles: dict[str, LeadAccounts],
    ledger: AccountLedger,
    described: Iterable[str],
) -> tuple[dict[str, list[LeadChange]], dict[str, Stored], dict[tuple[str, str], MemberMark]]:
    """Each account's lead changes: the account a lead counts in (decided by its claims) gets the
    change, every other account that counted it gets its leaving. Returns them per account with the
    stored states of those accounts and of the `described` ones, and the marks (one BatchGetItem)."""
    candidates: dict[str, set[str]] = {}
    for lead_id, lead in changed.items():
        profile = profiles.get(lead_id)
        domains = set(profile.joined if profile else ()) | lead.companies
        if lead.company:
            domains.add(lead.company)
        if domains:
            candidates[lead_id] = domains
    wanted: dict[str, list[str]] = {domain: [] for domain in described}
    for lead_id, domains in candidates.items():
        for domain in sorted(domains):
            wanted.setdefault(domain, []).append(lead_id)
    if not wanted:
        return {}, {}, {}
    states, marks, claims = ledger.load(wanted)
    per_account: dict[str, list[LeadChange]] = {}
    for lead_id, domains in candidates.items():
        lead, profile = changed[lead_id], profiles.get(lead_id)
        joined = {d: claims[d, lead_id] for d in (profile.joined if profile else ())}
        chosen = (
            decide(claims_of(joined, lead.company), profile.latest if profile else None)
            if lead.change.member
            else None
        )
        for domain in sorted(domains):
            if chosen is not None and domain == chosen.domain:
                title = profile.title if profile else None
                per_account.setdefault(domain, []).append(_as_member(lead.change, title, chosen.basis))
            elif marks[domain, lead_id].member:
                left = LeadChange.left(lead_id, lead.change.version, lead.change.at)
                per_account.setdefault(domain, []).append(left)
    return per_account, states, marks


def roll_up(
    records: list[DynamoDBRecord],
    scores: ScoreRepository,
    ledger: AccountLedger,
    model: AccountModel,
    leads_model: ScoringModel,
) -> BatchResult:
    described, failed = account_traits([r for r in records if _is_account(r)], ledger)
    changed, unreadable = lead_changes([r for r in records if not _is_account(r)], scores)
    failed += unreadable
    profiles = ledger.lead_accounts(changed) if changed else {}
    moved, states, marks = _memberships(changed, profiles, ledger, described)
    per_account: dict[str, list[LeadChange]] = {domain: [] for domain in described}
    for domain, changes in moved.items():
        per_account.setdefault(domain, []).extend(changes)
    if not per_account:
        return BatchResult(0, 0, 0, _ordered(records, failed))

    def run(domain: str) -> tuple[int, int]:
        stored, updates, events = states[domain], 0, 0
        changes = per_account[domain]
        for start in range(0, max(len(changes), 1), MEMBERS_PER_WRITE):
            state, new_marks, made = stored.state, list[MemberMark](), list[AccountEvent]()
            traits = described.get(domain) if start == 0 else None
            if traits is not None:  # the account's own traits first: its fit counts in what follows
                applied = describe(model, leads_model, state, traits.traits, traits.version, traits.at)
                state = applied.state
                made += applied.events
            for change in changes[start : start + MEMBERS_PER_WRITE]:
                applied = apply_change(model, leads_model, state, marks[domain, change.lead_id], change)
                if applied.mark is not None and applied.mark != marks[domain, change.lead_id]:
                    new_marks.append(applied.mark)
                state = applied.state
                made += applied.events
            if state == stored.state:
                continue  # every change was a replay: nothing to write
            point = score_point(model, leads_model, state)  # the day's point of the score history
            version = ledger.save(stored, state, new_marks, made, datetime.now(UTC), point)
            stored = type(stored)(state, version)
            updates, events = updates + 1, events + len(made)
            for event in made:
                logger.info("account event", domain=domain, event=type(event).__name__)
        return updates, events

    accounts, events = 0, 0
    for domain, outcome in _each(run, list(per_account)):
        if outcome is None:
            failed += [seq for change in per_account[domain] for seq in changed[change.lead_id].sequences[:1]]
            failed += described[domain].sequences[:1] if domain in described else []
            continue
        accounts += outcome[0] > 0
        events += outcome[1]
    lead_count = len({c.lead_id for changes in moved.values() for c in changes})
    return BatchResult(lead_count, accounts, events, _ordered(records, failed))


def _ordered(records: list[DynamoDBRecord], failed: list[str]) -> list[str]:
    order = {_sequence(r): i for i, r in enumerate(records)}
    return sorted(set(failed), key=order.__getitem__)


def _each(
    run: Callable[[str], tuple[int, int]], domains: list[str]
) -> list[tuple[str, tuple[int, int] | None]]:
    """Every account's write in parallel; a failed one is None (its leads' records will be retried)."""
    done: list[tuple[str, tuple[int, int] | None]] = []
    futures = [(domain, _pool().submit(run, domain)) for domain in domains]
    for domain, future in futures:
        try:
            done.append((domain, future.result()))
        except Exception:
            logger.exception("account update failed; the records will be retried", domain=domain)
            done.append((domain, None))
    return done
