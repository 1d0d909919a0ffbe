"""ShadowFunction's use case: one leads table stream batch scored again by the candidate model.

The batch names the people whose events changed: a new behaviour event (EVT#) its lead, a merge (MERGE#)
or a shared device's hand-over (HELD#) both leads, an unmerge both sides (each starts again from its own
events). Each lead goes to the lead that holds it now (the root of its merges, from the live STATE), and
each person once per batch is recomputed from every event stored under their leads, as a rebuild reads
them (`Rebuild.gather`), and written if anything changed (`ShadowRepository.save`). Recomputing from what
is stored makes a batch delivered again write nothing new. A person whose write fails (or who changed
under it five times) fails the batch from their first record on: Lambda retries from there, bisects, and
finally parks the range in ShadowFailuresQueue.

Nothing here publishes, notifies or writes a lead's own items: the live model's STATE and stage changes
are only read.
"""

from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from leadstream.platform.errors import ConcurrentUpdate
from leadstream.platform.observability import logger
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.rebuild import MAX_ATTEMPTS, Rebuild
from leadstream.shadow.repository import ShadowRepository
from leadstream.shadow.score import candidate_score
from leadstream.sources.model import DEFAULT_LEAD_RETENTION_DAYS

PARALLEL_PEOPLE = 8  # people recomputed at once (each a few DynamoDB round trips)


@dataclass(frozen=True)
class ShadowResult:
    people: int  # people recomputed
    written: int  # whose record changed (a new score or a would-be stage change)
    would_be: int  # new would-be stage changes recorded
    failed_sequence_numbers: list[str]


@dataclass
class _Person:
    root: str
    leads: set[str] = field(default_factory=set)  # the batch's leads that score on the root
    sequences: list[str] = field(default_factory=list)
    restart: bool = False  # an unmerge: from the person's own events only


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_PEOPLE, thread_name_prefix="shadow")


def _touched(records: Sequence[DynamoDBRecord]) -> tuple["OrderedDict[str, list[str]]", set[str], list[str]]:
    """lead -> the sequence numbers naming it, the leads an unmerge split, and unreadable records."""
    touched: OrderedDict[str, list[str]] = OrderedDict()
    split: set[str] = set()
    unreadable: list[str] = []
    for record in records:
        ddb = record.dynamodb
        seq = ddb.sequence_number if ddb is not None else None
        keys = ddb.keys if ddb is not None else None
        pk, sk = str((keys or {}).get("pk", "")), str((keys or {}).get("sk", ""))
        if seq is None or not pk.startswith("LEAD#"):
            logger.error("not a lead's stream record", sequence_number=seq)
            if seq is not None:
                unreadable.append(seq)
            continue
        leads = [pk.removeprefix("LEAD#")]
        if sk.startswith("MERGE#") or sk.startswith("HELD#"):
            leads.append(sk.split("#", 1)[1])
        if sk.startswith("MERGE#") and record.event_name == DynamoDBRecordEventName.MODIFY:
            split.update(leads)  # an unmerge: both sides start again from their own events
        for lead in leads:
            touched.setdefault(lead, []).append(seq)
    return touched, split, unreadable


class ShadowScoring:
    """Scores people with the candidate model: the live STATE and stored events are read through `rebuild`
    (its repositories; it writes nothing here), the candidate's records through `shadows`."""

    def __init__(
        self,
        rebuild: Rebuild,
        shadows: ShadowRepository,
        candidate: ScoringModel,
        retention: timedelta = timedelta(days=DEFAULT_LEAD_RETENTION_DAYS),
    ) -> None:
        self.rebuild = rebuild
        self.shadows = shadows
        self.candidate = candidate
        self.retention = retention  # a record's life after the person's latest event, until STATE has one

    def batch(self, records: Sequence[DynamoDBRecord]) -> ShadowResult:
        touched, split, failed = _touched(records)
        targets = self.rebuild.targets(touched) if touched else {}
        people: OrderedDict[str, _Person] = OrderedDict()
        for lead, sequences in touched.items():
            root = targets[lead]
            if root is None:
                logger.error("merge chain too long; the records are parked", lead_id=lead)
                failed += sequences[:1]
                continue
            person = people.setdefault(root, _Person(root))
            person.leads.add(lead)
            person.sequences += sequences
            person.restart |= lead in split
        futures = [(person, _pool().submit(self.person, person)) for person in people.values()]
        written = would_be = 0
        for person, future in futures:
            try:
                made = future.result()
            except Exception:
                logger.exception("shadow scoring failed; the records will be retried", lead_id=person.root)
                failed += person.sequences
                continue
            if made is not None:
                written += 1
                would_be += made
        order = {r.dynamodb.sequence_number: i for i, r in enumerate(records) if r.dynamodb is not None}
        failed = sorted(set(failed), key=lambda seq: order.get(seq, 0))
        return ShadowResult(len(people), written, would_be, failed)

    def person(self, person: _Person) -> int | None:
        """Recompute one person; the number of new would-be stage changes if their record was written,
        None if nothing changed (or there is nothing of them to score)."""
        root, also = person.root, person.leads - {person.root}
        for _ in range(MAX_ATTEMPTS):
            stored = self.rebuild.scores.load(root)
            if stored.erased:
                return None  # the person was erased: nothing of them is scored again
            if stored.merged_into is not None:  # merged meanwhile: the lead that holds them now
                also, root = also | {root}, stored.merged_into
                continue
            found = self.rebuild.gather(stored, also)
            recorded = self.shadows.load_many([root, *found.merged, *also], self.candidate.version)
            previous = recorded.get(root)
            events = [event for event, _ in found.events]
            if not events and previous is None:
                return None
            shadow = candidate_score(
                self.candidate, root, previous.shadow if previous else None, events, person.restart
            )
            latest = max((at or event.at for event, at in found.events), default=None)
            expires = stored.expires_at or (latest + self.retention if latest else None)
            try:
                if not self.shadows.save(shadow, previous, expires, set(recorded) - {root}):
                    return None
            except ConcurrentUpdate:
                continue  # another batch wrote the person first, or they were erased: read again
            made = len(shadow.score.transitions) - (len(previous.shadow.score.transitions) if previous else 0)
            for t in shadow.score.transitions[-made:] if made > 0 else ():
                logger.info(
                    "candidate model would change stage",
                    lead_id=root,
                    from_stage=t.from_stage,
                    to_stage=t.to_stage,
                    model_version=self.candidate.version,
                )
            return max(made, 0)
        raise ConcurrentUpdate(f"lead {root} kept changing while it was shadow-scored")
