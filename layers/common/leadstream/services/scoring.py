"""Scoring a DynamoDB stream batch: one read and one small write per lead per batch.

Records are grouped by lead, in stream order. A lead's STATE item remembers the last stream sequence
number applied to it, so a redelivered or re-split batch is skipped record by record: replaying any
batch leaves scores unchanged.
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from leadstream.domain.events import BehaviourEvent
from leadstream.domain.scoring import LeadScore, ScoringModel, apply_events, merge
from leadstream.observability import logger
from leadstream.store import LeadRepository


@dataclass(frozen=True)
class BatchResult:
    leads_scored: int
    records_skipped: int
    transitions: int
    failed_sequence_numbers: list[str]


def _group(
    records: list[dict[str, Any]], repo: LeadRepository
) -> tuple["OrderedDict[str, list[tuple[str, BehaviourEvent]]]", list[str]]:
    """Records per lead in stream order, and the sequence numbers of records that cannot be read."""
    groups: OrderedDict[str, list[tuple[str, BehaviourEvent]]] = OrderedDict()
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


def score_batch(records: list[dict[str, Any]], repo: LeadRepository, model: ScoringModel) -> BatchResult:
    groups, failed = _group(records, repo)
    scored = skipped = transitions = 0
    for lead_id, items in groups.items():
        try:
            state, applied = repo.load_score(lead_id)
            fresh = [(seq, ev) for seq, ev in items if not repo.is_applied(seq, applied)]
            skipped += len(items) - len(fresh)
            if not fresh:
                continue
            merged_away: list[str] = []
            for _, event in fresh:
                if event.merged_from and event.merged_from != lead_id:
                    other, _ = repo.load_score(event.merged_from)
                    if other.merged_into is None:
                        state = merge(model, state, other)
                        merged_away.append(event.merged_from)
            new_state: LeadScore = apply_events(model, state, [ev for _, ev in fresh])
            repo.save_score(new_state, fresh[-1][0], applied)
            for other_id in merged_away:
                repo.mark_merged(other_id, into=lead_id)
            scored += 1
            transitions += len(new_state.transitions)
            for t in new_state.transitions:
                logger.info(
                    "lead changed stage", lead_id=lead_id, from_stage=t.from_stage, to_stage=t.to_stage
                )
        except Exception:
            logger.exception("scoring failed; the records will be retried", lead_id=lead_id)
            failed.append(items[0][0])
    order = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    return BatchResult(scored, skipped, transitions, sorted(failed, key=order.__getitem__))
