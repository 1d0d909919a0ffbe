"""Scoring a DynamoDB stream batch with as few round trips as the guards allow.

Per batch: one BatchGetItem for every lead in it (plus one per merge hop to reach the leads that absorbed
merged ones), then one conditional PutItem per lead that changed, all in parallel. Records of one lead
are applied in stream order in one write, so per-lead ordering holds; the replay guards of `replay` make
any redelivery harmless (and skip what a rebuild already counted); a write that loses to another writer
fails only that lead's records, which the stream redelivers.

Events are stored under the lead of the visitor's own identifier (identity.device_lead). When that lead
has been merged into another (a second device identified with a known e-mail), its events are forwarded:
its score is folded into the target once, and its later events are applied there. A device handed over to
another person (identity.resolution: a shared device) says so on its lead's STATE, read with the batch: its
records stored since the hand-over are lent to the new holder's root (guarded by `lent[device]` there),
without its score.
"""

from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from leadstream.identity.resolution import holder_at
from leadstream.platform.observability import logger
from leadstream.predictive.live import LivePredictor
from leadstream.predictive.model import Likelihood
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.replay import StoredScore, padded
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, Transition, apply_events, merge
from leadstream.tracking.events import BehaviourEvent
from leadstream.tracking.repository import EventRepository

MAX_MERGE_HOPS = 5
PARALLEL_WRITES = 16  # DynamoDB round trips in flight at once (the client's pool holds 32 connections)

Records = list[tuple[str, BehaviourEvent]]  # (sequence number, event) in stream order


@dataclass(frozen=True)
class BatchResult:
    leads_scored: int
    records_skipped: int
    transitions: int
    failed_sequence_numbers: list[str]


@dataclass
class _Work:
    """Everything one STATE write applies: the target lead's own records and those forwarded to it."""

    target: str
    leads: list[str]  # in order of first appearance in the batch
    lent: dict[str, Records] = field(default_factory=dict)  # device lead handed over -> its records here


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="score")


def _group(
    records: list[DynamoDBRecord], events: EventRepository
) -> tuple["OrderedDict[str, Records]", list[str]]:
    """Records per lead in stream order, and the sequence numbers of records that cannot be read."""
    groups: OrderedDict[str, Records] = OrderedDict()
    unreadable: list[str] = []
    for record in records:
        seq = _sequence(record)
        try:
            lead_id, event = events.from_image(record.raw_event["dynamodb"]["NewImage"])
        except Exception as exc:
            logger.error("unreadable behaviour record", sequence_number=seq, error=type(exc).__name__)
            unreadable.append(seq)
            continue
        groups.setdefault(lead_id, []).append((seq, event))
    return groups, unreadable


def _lead_expiries(records: list[DynamoDBRecord], events: EventRepository) -> dict[str, datetime]:
    """lead -> the latest `lead_expires` of its records in the batch (read from the images: no I/O)."""
    latest: dict[str, datetime] = {}
    for record in records:
        image = record.raw_event["dynamodb"].get("NewImage") or {}
        until = events.lead_expires(image)
        lead = image.get("pk", {}).get("S", "").removeprefix("LEAD#")
        if until is not None and (lead not in latest or until > latest[lead]):
            latest[lead] = until
    return latest


def targets_of(scores: ScoreRepository, states: dict[str, StoredScore]) -> dict[str, str | None]:
    """lead -> the lead that scores its events now (itself unless merged); None past MAX_MERGE_HOPS.
    Loads the leads on the way into `states`, one BatchGetItem per hop."""
    targets: dict[str, str | None] = {}
    position = {lead: lead for lead in states}
    for _ in range(MAX_MERGE_HOPS + 1):
        for lead, at in list(position.items()):
            if states[at].merged_into is None:
                targets[lead] = at
                del position[lead]
        if not position:
            return targets
        position = {lead: states[at].merged_into or at for lead, at in position.items()}
        states.update(scores.load_many(at for at in position.values() if at not in states))
    for lead in position:
        targets[lead] = None
    return targets


def _stored_at(records: list[DynamoDBRecord], events: EventRepository) -> dict[str, float | None]:
    """sequence number -> when its event was stored (read from the images: no I/O)."""
    return {
        _sequence(r): events.stored_at(r.raw_event["dynamodb"].get("NewImage") or {})
        for r in records
        if r.dynamodb is not None
    }


def _lend(
    groups: "OrderedDict[str, Records]",
    states: dict[str, StoredScore],
    targets: dict[str, str | None],
    stored_at: dict[str, float | None],
) -> "OrderedDict[tuple[str, str | None], Records]":
    """(device lead, target) -> the device's records stored since it was handed over to a lead that
    scores elsewhere than the device lead does (taken out of `groups`); a hand-back to the device lead's
    own root leaves its records where they are. A holder merged into another lead since joins `groups`
    (with no records) so that its score is folded into that lead, as a merged lead's own records would."""
    lent: OrderedDict[tuple[str, str | None], Records] = OrderedDict()
    folding: list[str] = []
    for device, items in groups.items():
        handed = states[device].handed
        if not handed:
            continue
        kept: Records = []
        for seq, event in items:
            holder = holder_at(handed, stored_at.get(seq))
            to = targets[holder] if holder is not None else targets[device]
            if to == targets[device]:
                kept.append((seq, event))
                continue
            lent.setdefault((device, to), []).append((seq, event))
            if holder is not None and to not in (None, holder):
                folding.append(holder)
        groups[device] = kept
    for holder in folding:
        groups.setdefault(holder, [])
    return lent


def _apply(
    model: ScoringModel, work: _Work, groups: "OrderedDict[str, Records]", states: dict[str, StoredScore]
) -> tuple[StoredScore, LeadScore, int] | None:
    """The target's new guards and score, and how many records were replays; None if nothing changed.
    A record is a replay when the guards say it was applied, or when a rebuild counted its event."""
    stored = states[work.target]
    score = stored.score
    transitions: list[Transition] = []
    skipped = 0
    changed = False
    for lead in work.leads:
        items = groups[lead]
        if lead == work.target:
            new = [(seq, ev) for seq, ev in items if not stored.applied(seq)]
            if new:
                stored = replace(stored, seq=padded(new[-1][0]))
        else:
            own = states[lead]
            first_time = lead not in stored.absorbed
            new = [(s, ev) for s, ev in items if not own.applied(s) and not stored.applied(s, from_lead=lead)]
            if not new and not first_time:
                skipped += len(items)
                continue
            # the merged lead's own score (final: it is never written again) joins the target exactly once
            if first_time:
                score = merge(model, score, own.score)
            last = new[-1][0] if new else (own.seq or "0")
            stored = replace(stored, absorbed={**stored.absorbed, lead: padded(last)})
            changed = True
        fresh = [ev for _, ev in new if not stored.included(ev.message_id)]
        skipped += len(items) - len(fresh)
        if fresh:
            score = apply_events(model, score, fresh)
            transitions += score.transitions
            changed = True
    for device, items in work.lent.items():
        new = [(s, ev) for s, ev in items if not stored.applied(s, from_lead=device, lent=True)]
        if new:
            stored = replace(stored, lent={**stored.lent, device: padded(new[-1][0])})
            changed = True
        fresh = [ev for _, ev in new if not stored.included(ev.message_id)]
        skipped += len(items) - len(fresh)
        if fresh:
            score = apply_events(model, score, fresh)
            transitions += score.transitions
    if not changed:
        return None
    return stored.pruned(datetime.now(UTC)), replace(score, transitions=tuple(transitions)), skipped


def _with_likelihood(
    stored: StoredScore, score: LeadScore, likelihood: Likelihood | None
) -> tuple[StoredScore, LeadScore]:
    """The lead's new likelihood on STATE and on the stage changes this write makes."""
    transitions = tuple(replace(t, likelihood=likelihood) for t in score.transitions)
    return replace(stored, likelihood=likelihood), replace(score, transitions=transitions)


def _sequence(record: DynamoDBRecord) -> str:
    seq = record.dynamodb.sequence_number if record.dynamodb else None
    if seq is None:
        raise ValueError("a stream record without a sequence number")
    return seq


def score_batch(
    records: list[DynamoDBRecord],
    events: EventRepository,
    scores: ScoreRepository,
    model: ScoringModel,
    predict: LivePredictor | None = None,
) -> BatchResult:
    """`predict`: the predictive model, when one is configured: each lead whose score changed gets its
    likelihood in the same write (and its stage changes the likelihood of that moment); None stores none."""
    groups, failed = _group(records, events)
    states = scores.load_many(groups) if groups else {}
    holders = {lead for device in groups for _, lead in states[device].handed} - states.keys()
    if holders:
        states.update(scores.load_many(holders))
    targets = targets_of(scores, states)
    lent = _lend(groups, states, targets, _stored_at(records, events))
    expiries = _lead_expiries(records, events)
    plan: OrderedDict[str, _Work] = OrderedDict()
    erased = 0
    owned = [(lead, targets[lead], groups[lead], False) for lead in groups]
    lending_out = [(lead, to, items, True) for (lead, to), items in lent.items()]
    for lead, to, items, lending in [*owned, *lending_out]:
        if not items and (to is None or to == lead or states[to].erased):
            continue  # all of a device's records were lent; what is left is a merged lead's score to fold
        if to is None:
            logger.error("merge chain too long; the records are parked", lead_id=lead, hops=MAX_MERGE_HOPS)
            failed.append(items[0][0])
            continue
        if states[to].erased:  # stored just before the person was erased: never brought back
            logger.info("records of an erased lead dropped", lead_id=lead, records=len(items))
            erased += len(items)
            continue
        work = plan.setdefault(to, _Work(to, []))
        if lending:
            work.lent[lead] = items
        else:
            work.leads.append(lead)

    likelihood = (
        predict.of_batch(list(plan)) if predict is not None else None
    )  # accounts: read once, if at all

    def run(work: _Work) -> tuple[_Work, tuple[int, int] | None]:
        outcome = _apply(model, work, groups, states)
        if outcome is None:
            return work, None
        stored, score, skipped = outcome
        if likelihood is not None or stored.likelihood is not None:
            stored, score = _with_likelihood(stored, score, likelihood(score) if likelihood else None)
        latest = [expiries[lead] for lead in [*work.leads, *work.lent] if lead in expiries]
        scores.save(stored, score, max(latest, default=None))
        for t in score.transitions:
            logger.info(
                "lead changed stage", lead_id=score.lead_id, from_stage=t.from_stage, to_stage=t.to_stage
            )
        return work, (skipped, len(score.transitions))

    scored, skipped, transitions = 0, erased, 0
    for work, outcome in _each(run, list(plan.values()), failed, groups):
        if outcome is None:
            skipped += sum(len(groups[lead]) for lead in work.leads)
            skipped += sum(len(items) for items in work.lent.values())
            continue
        scored += 1
        skipped += outcome[0]
        transitions += outcome[1]
    order = {_sequence(r): i for i, r in enumerate(records)}
    return BatchResult(scored, skipped, transitions, sorted(failed, key=order.__getitem__))


def _each(
    run: Callable[[_Work], tuple[_Work, tuple[int, int] | None]],
    plan: list[_Work],
    failed: list[str],
    groups: "OrderedDict[str, Records]",
) -> list[tuple[_Work, tuple[int, int] | None]]:
    """Run every target's write in parallel; a failed one fails the first record of each of its leads."""
    done = []
    futures = [(work, _pool().submit(run, work)) for work in plan]
    for work, future in futures:
        try:
            done.append(future.result())
        except Exception:
            logger.exception("scoring failed; the records will be retried", lead_id=work.target)
            failed.extend(groups[lead][0][0] for lead in work.leads if groups[lead])
            failed.extend(items[0][0] for items in work.lent.values())
    return done
