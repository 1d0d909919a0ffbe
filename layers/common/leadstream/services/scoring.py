"""Scoring a DynamoDB stream batch: one read and one small write per lead per batch.

Events are stored under the lead of the visitor's own identifier (see identity.device_lead). When that
lead has been merged into another (a second device identified with a known e-mail), its events are
forwarded: its score is folded into the target once, and its later events are applied there.

Replay guards on the STATE item make every redelivery harmless: `seq` is the last record applied from
the lead's own partition (records of one partition arrive in order), `absorbed[lead]` the last record
forwarded from a merged lead's partition, and `version` makes each write conditional on the read.
"""

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from leadstream.domain.events import BehaviourEvent
from leadstream.domain.scoring import ScoringModel, apply_events, merge
from leadstream.observability import logger
from leadstream.store import LeadRepository, StoredScore

MAX_MERGE_HOPS = 5

Items = list[tuple[str, BehaviourEvent]]


@dataclass(frozen=True)
class BatchResult:
    leads_scored: int
    records_skipped: int
    transitions: int
    failed_sequence_numbers: list[str]


def _group(
    records: list[dict[str, Any]], repo: LeadRepository
) -> tuple["OrderedDict[str, Items]", list[str]]:
    """Records per lead in stream order, and the sequence numbers of records that cannot be read."""
    groups: OrderedDict[str, Items] = OrderedDict()
    unreadable: list[str] = []
    for record in records:
        seq = record["dynamodb"]["SequenceNumber"]
        try:
            lead_id, event = repo.event_from_image(record["dynamodb"]["NewImage"])
        except Exception as exc:
            logger.error("unreadable behaviour record", sequence_number=seq, error=type(exc).__name__)
            unreadable.append(seq)
            continue
        groups.setdefault(lead_id, []).append((seq, event))
    return groups, unreadable


def _target(repo: LeadRepository, stored: StoredScore) -> StoredScore:
    """Follow merged_into to the lead that scores these events now."""
    for _ in range(MAX_MERGE_HOPS):
        if stored.merged_into is None:
            return stored
        stored = repo.load_score(stored.merged_into)
    raise RuntimeError(f"merge chain longer than {MAX_MERGE_HOPS} from lead {stored.score.lead_id}")


def _score_lead(
    repo: LeadRepository, model: ScoringModel, lead_id: str, items: Items
) -> tuple[int, int] | None:
    """Apply one lead's records. Returns (records skipped, transitions made), or None if all were replays."""
    own = repo.load_score(lead_id)
    if own.merged_into is None:
        fresh = [(seq, ev) for seq, ev in items if not own.applied(seq)]
        if not fresh:
            return None
        stored = replace(own, seq=repo.padded(fresh[-1][0]))
        base = own.score
    else:
        target = _target(repo, own)
        first_time = lead_id not in target.absorbed
        fresh = [(seq, ev) for seq, ev in items if not own.applied(seq) and not target.applied(seq, lead_id)]
        if not fresh and not first_time:
            return None
        # the merged lead's own score (final: it is never written again) joins the target exactly once
        base = merge(model, target.score, own.score) if first_time else target.score
        last = fresh[-1][0] if fresh else (own.seq or "0")
        stored = replace(target, absorbed={**target.absorbed, lead_id: repo.padded(last)})
    new_state = apply_events(model, base, [ev for _, ev in fresh])
    repo.save_score(stored, new_state)
    for t in new_state.transitions:
        logger.info(
            "lead changed stage", lead_id=new_state.lead_id, from_stage=t.from_stage, to_stage=t.to_stage
        )
    return len(items) - len(fresh), len(new_state.transitions)


def score_batch(records: list[dict[str, Any]], repo: LeadRepository, model: ScoringModel) -> BatchResult:
    groups, failed = _group(records, repo)
    scored = skipped = transitions = 0
    for lead_id, items in groups.items():
        try:
            outcome = _score_lead(repo, model, lead_id, items)
        except Exception:
            logger.exception("scoring failed; the records will be retried", lead_id=lead_id)
            failed.append(items[0][0])
            continue
        if outcome is None:
            skipped += len(items)
            continue
        scored += 1
        skipped += outcome[0]
        transitions += outcome[1]
    order = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    return BatchResult(scored, skipped, transitions, sorted(failed, key=order.__getitem__))
