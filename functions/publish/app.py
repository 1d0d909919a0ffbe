"""PublishFunction (outbox): a stage change written on a lead's STATE item becomes one bus event."""

import json
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.events import STAGE_CHANGED
from leadstream.domain.scoring import DEFAULT_MODEL_PATH, ScoringModel
from leadstream.integrations.publisher import EventBridgePublisher
from leadstream.observability import logger, metrics, tracer
from leadstream.services.outbox import stage_changes
from leadstream.settings import PublishSettings
from leadstream.store import LeadRepository

settings = PublishSettings.from_env()
model = ScoringModel.load(settings.scoring_model or DEFAULT_MODEL_PATH)
repo = LeadRepository(settings.leads_table, settings.region)
publisher = EventBridgePublisher(settings.event_bus_name, boto3.client("events"))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
idempotency = IdempotencyConfig(event_key_jmespath="transition_id", expires_after_seconds=30 * 24 * 3600)


@idempotent_function(
    data_keyword_argument="change",
    persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
    config=idempotency,
)
def publish_once(change: dict[str, Any]) -> dict[str, str]:
    event_id = publisher.publish(STAGE_CHANGED, json.dumps(change), resources=[change["lead_id"]])
    logger.info("published stage change", transition_id=change["transition_id"], event_id=event_id)
    metrics.add_metric(name="StageChangesPublished", unit=MetricUnit.Count, value=1)
    return {"event_id": event_id}


def record_handler(record: DynamoDBRecord) -> None:
    state = repo.score_from_image(record.raw_event["dynamodb"]["NewImage"])
    for change in stage_changes(model, state, repo):
        publish_once(change=change.model_dump(mode="json"))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    metrics.add_metric(
        name="StateRecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", []))
    )
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
