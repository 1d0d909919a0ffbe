"""PublishFunction (outbox): a stage change written as a lead's TRANS# item, another lead event as its OUT#
item, or an account event written as an account's ATRANS# item, becomes one bus event, and the item is then
marked published (the redrive publishes what is still unpublished, through this same path). A lead's event
also brings the report items up to date (sales.reports), before it is marked published. A stage change a
rescore recorded (`rescored`) is neither published nor reported: its filter leaves it out, as does this."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.outbox import AccountOutbox
from leadstream.accounts.repository import OUTBOX_PREFIX, AccountLedger
from leadstream.identity.repository import ProfileRepository
from leadstream.platform import aws
from leadstream.platform.bus import EventBridgePublisher
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import PublishSettings
from leadstream.sales.outbox import EVENT_PREFIX, LeadEvents
from leadstream.sales.reports import ReportFeed, ReportStore
from leadstream.scoring.outbox import Outbox, Outboxes
from leadstream.scoring.repository import ScoreRepository

settings = PublishSettings.from_env()
leads = Outbox(ScoreRepository(settings.leads_table), ProfileRepository(settings.leads_table))
accounts = AccountOutbox(AccountLedger(settings.accounts_table, settings.leads_table))
lead_events = LeadEvents(settings.leads_table)
# the report items the sales API reads (source-quality counters, hand-overs), kept as lead events go out
reports = ReportFeed(
    ScoreRepository(settings.leads_table), ReportStore(settings.accounts_table, settings.leads_table)
)
publisher = EventBridgePublisher(settings.event_bus_name, aws.client("events"))
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
# every event's detail carries its unique id under one of these names (a lead's stage change: transition_id).
# event_id first: a lead event may name the stage change it is about (an SLA breach's transition_id), and
# must not be taken for that stage change's own publication.
once = Once(settings.idempotency_table, key="event_id || transition_id || change_id || surge_id")


@once
def publish_once(payload: dict[str, Any], detail_type: str, resources: tuple[str, ...]) -> dict[str, str]:
    event_id = publisher.publish(detail_type, json.dumps(payload), resources=list(resources))
    logger.info("published", detail_type=detail_type, event_id=event_id)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)
    return {"event_id": event_id}


def _outbox(image: dict[str, Any]) -> Outboxes:
    sk = image["sk"]["S"]
    if sk.startswith(OUTBOX_PREFIX):
        return accounts
    return lead_events if sk.startswith(EVENT_PREFIX) else leads


def record_handler(record: DynamoDBRecord) -> None:
    image = record.raw_event["dynamodb"]["NewImage"]
    outbox = _outbox(image)
    if outbox is leads and leads.rescored(image):
        logger.info("a rescored stage change is not published", sk=image["sk"]["S"])
        return
    events = outbox.outgoing(image)
    for event in events:
        publish_once(payload=event.detail, detail_type=event.detail_type, resources=event.resources)
    if outbox is not accounts:
        reports.published(image)  # before marking it published: a failure leaves it for the redrive too
    for event in events:
        event.published()  # also after an idempotent repeat: the event did go out


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
