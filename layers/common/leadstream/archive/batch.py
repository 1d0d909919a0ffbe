"""ArchiveFunction's use case: one stream batch as archive objects, exactly once in effect.

The batch's records become archived records in stream order; one that cannot be (a record the
subscription should not have let through) stops the batch there: the records before it are archived and
it is reported failed, so Lambda retries from it (and, with bisect and bounded retries, parks it alone in
the on-failure queue). The archived records are grouped into one object per partition (lead hash and
day), keyed by their own first and last sequence numbers. An object S3 did not take fails the whole batch
(its first record is reported): the retry delivers the same records, which make the same keys and bytes,
so objects written before the failure are overwritten with themselves. If Lambda ever splits a batch it
had partly written (bisect after a timeout), the halves' objects repeat some records under other keys;
the reader drops the repeats (`records.in_order`). Records of a lead erased meanwhile (its STATE is a
tombstone) are left out: `people erase` has already taken the person out of the archive.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from leadstream.archive.records import ArchivedRecord, encode, group
from leadstream.archive.store import ArchiveStore
from leadstream.archive.stream import archived
from leadstream.archive.tombstones import Tombstones
from leadstream.platform.errors import ArchiveUnavailable, InvalidEvent, StoreUnavailable
from leadstream.platform.observability import logger


@dataclass(frozen=True)
class Archived:
    records: int  # archived records written (in `objects` objects)
    objects: int
    dropped: int  # records of leads erased meanwhile (a tombstone): not archived
    failed_sequence_numbers: list[str]  # for batchItemFailures: the first is where Lambda retries from


def archive_batch(
    stream_records: Sequence[DynamoDBRecord], store: ArchiveStore, tombstones: Tombstones
) -> Archived:
    kept: list[ArchivedRecord] = []
    failed: list[str] = []
    for record in stream_records:
        try:
            kept.append(archived(record))
        except InvalidEvent as exc:
            logger.error(
                "stream record not archivable",
                sequence_number=record.dynamodb and record.dynamodb.sequence_number,
                problem=str(exc),
            )
            failed = [
                seq for r in stream_records[len(kept) :] if r.dynamodb and (seq := r.dynamodb.sequence_number)
            ]
            break
    try:
        erased = tombstones.erased(lead for record in kept for lead in record.leads())
        kept_now = [record for record in kept if not (record.leads() & erased)]
        objects = group(kept_now)
        for key, records in objects.items():
            store.put(key, encode(records))
    except (ArchiveUnavailable, StoreUnavailable) as exc:
        logger.warning("archive write failed; the batch is retried whole", problem=str(exc))
        every = [
            r.dynamodb.sequence_number for r in stream_records if r.dynamodb and r.dynamodb.sequence_number
        ]
        return Archived(0, 0, 0, every)
    if erased:
        logger.info("records of erased leads not archived", leads=len(erased))
    return Archived(len(kept_now), len(objects), len(kept) - len(kept_now), failed)
