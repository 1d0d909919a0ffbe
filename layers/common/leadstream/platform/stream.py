"""The handler of a DynamoDB stream consumer that takes its batch as a whole (grouped per lead, person or
account, or cut where a record fails) and so reports its partial batch failures itself, not record by
record through Powertools' BatchProcessor. Each function says what it does with the records and what it
counts; the decorators, the log line and the answer Lambda reads are made here, once.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadstream.platform.observability import logger, metrics, tracer

type Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@dataclass(frozen=True)
class BatchReport:
    """What a consumer made of one batch: the sequence numbers of the records Lambda retries (from the
    first), the facts of its log line (ids and counts, nothing personal), logged in this order between the
    batch's `records` and its `failed`, and the counts it publishes as metrics."""

    failed: Sequence[str]
    facts: dict[str, object]
    metrics: dict[str, int]


def batch_handler(summary: str, consume: Callable[[list[DynamoDBRecord]], BatchReport]) -> Handler:
    """The Lambda handler that gives `consume` the batch's records and logs what it did as `summary`."""

    @logger.inject_lambda_context
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = list(DynamoDBStreamEvent(event).records)
        report = consume(records)
        for name, value in report.metrics.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        logger.info(summary, extra={"records": len(records), **report.facts, "failed": len(report.failed)})
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in report.failed]}

    return lambda_handler
