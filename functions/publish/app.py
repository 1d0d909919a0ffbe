"""PublishFunction (outbox): a stage change written as a lead's TRANS# item becomes one bus event, and the
item is then marked published (the redrive publishes what is still unpublished, through this same path)."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.events import STAGE_CHANGED
from leadstream.identity.repository import ProfileRepository
from leadstream.platform import aws
from leadstream.platform.bus import EventBridgePublisher
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import PublishSettings
from leadstream.scoring.outbox import Outbox
from leadstream.scoring.repository import ScoreRepository

settings = PublishSettings.from_env()
outbox = Outbox(ScoreRepository(settings.leads_table), ProfileRepository(settings.leads_table))
publisher = EventBridgePublisher(settings.event_bus_name, aws.client("events"))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
once = Once(settings.idempotency_table, key="transition_id")


@once
def publish_once(payload: dict[str, Any]) -> dict[str, str]:
    event_id = publisher.publish(STAGE_CHANGED, json.dumps(payload), resources=[payload["lead_id"]])
    logger.info("published stage change", transition_id=payload["transition_id"], event_id=event_id)
    metrics.add_metric(name="StageChangesPublished", unit=MetricUnit.Count, value=1)
    return {"event_id": event_id}


def record_handler(record: DynamoDBRecord) -> None:
    for change in outbox.changes(record.raw_event["dynamodb"]["NewImage"]):
        publish_once(payload=change.model_dump(mode="json"))
        outbox.published(change)  # also after an idempotent repeat: the event did go out


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once.register(context)
    metrics.add_metric(
        name="TransitionRecordsReceived", unit=MetricUnit.Count, value=len(event.get("Records", []))
    )
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
