"""ExpireFunction: when DynamoDB's TTL deletes an inactive lead's STATE, deletes the rest of that lead
(retention). Its subscription lets through only REMOVE records of STATE items made by the TTL service."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.departure import Departures
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import ExpireSettings
from leadstream.privacy.expiry import ExpiredLead, Expiry
from leadstream.privacy.repository import PrivacyRepository
from leadstream.scoring.model_file import load_model

settings = ExpireSettings.from_env()
departures = Departures(
    AccountLedger(settings.accounts_table, settings.leads_table),
    load_account_model(settings.account_model),
    load_model(settings.scoring_model),
)
expiry = Expiry(PrivacyRepository(settings.leads_table, settings.accounts_table), departures)
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    lead = ExpiredLead.from_image(record.raw_event["dynamodb"]["OldImage"])
    if lead.merged_into is not None:
        logger.info("a merged lead's STATE expired; its items go with its target", lead_id=lead.lead_id)
        return
    removed = expiry.expire(lead)
    logger.info("lead expired", lead_id=lead.lead_id, erased=lead.erased, removed=removed)
    metrics.add_metric(name="LeadsExpired", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ExpiredItemsDeleted", unit=MetricUnit.Count, value=sum(removed.values()))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
