"""ArchiveFunction: writes the leads table's history (behaviour events, identity changes, stage changes)
to the archive bucket, one gzipped JSON-lines object per partition of each stream batch.

The archive cuts the batch where a record fails (or retries it whole when S3 fails), so this handler
reports partial batch failures itself, as ScoreFunction does."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.archive.batch import archive_batch
from leadstream.archive.store import ArchiveStore
from leadstream.archive.tombstones import Tombstones
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import ArchiveSettings

settings = ArchiveSettings.from_env()
store = ArchiveStore(settings.archive_bucket)
tombstones = Tombstones(settings.leads_table)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(DynamoDBStreamEvent(event).records)
    result = archive_batch(records, store, tombstones)
    metrics.add_metric(name="RecordsArchived", unit=MetricUnit.Count, value=result.records)
    metrics.add_metric(name="ArchiveObjectsWritten", unit=MetricUnit.Count, value=result.objects)
    metrics.add_metric(name="ErasedRecordsDropped", unit=MetricUnit.Count, value=result.dropped)
    logger.info(
        "archived batch",
        records=len(records),
        archived=result.records,
        objects=result.objects,
        dropped=result.dropped,
        failed=len(result.failed_sequence_numbers),
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed_sequence_numbers]}
