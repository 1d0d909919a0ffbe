"""ArchiveFunction: writes the leads table's history (behaviour events, identity changes, stage changes)
to the archive bucket, one gzipped JSON-lines object per partition of each stream batch.

The archive cuts the batch where a record fails (or retries it whole when S3 fails), so this handler
reports partial batch failures itself, as ScoreFunction does."""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from leadstream.archive.batch import archive_batch
from leadstream.archive.store import ArchiveStore
from leadstream.archive.tombstones import Tombstones
from leadstream.platform.settings import ArchiveSettings
from leadstream.platform.stream import BatchReport, batch_handler

settings = ArchiveSettings.from_env()
store = ArchiveStore(settings.archive_bucket)
tombstones = Tombstones(settings.leads_table)


def archive(records: list[DynamoDBRecord]) -> BatchReport:
    result = archive_batch(records, store, tombstones)
    return BatchReport(
        result.failed_sequence_numbers,
        facts={"archived": result.records, "objects": result.objects, "dropped": result.dropped},
        metrics={
            "RecordsArchived": result.records,
            "ArchiveObjectsWritten": result.objects,
            "ErasedRecordsDropped": result.dropped,
        },
    )


lambda_handler = batch_handler("archived batch", archive)
