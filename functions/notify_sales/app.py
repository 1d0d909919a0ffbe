"""NotifySalesFunction: target of the 'lead became SQL' rule; tells sales once per stage change."""

from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.events import LeadStageChanged
from leadstream.errors import NotifyFailed, invalid_event
from leadstream.integrations.notifiers import Channel, FileChannel, SlackChannel, SnsChannel
from leadstream.observability import logger, metrics, tracer
from leadstream.services.notify import deliver
from leadstream.settings import NotifySettings
from pydantic import ValidationError

settings = NotifySettings.from_env()
channels: list[Channel] = []
if settings.notifications_file:
    channels.append(FileChannel(settings.notifications_file))
if settings.slack_webhook_secret:
    secret_id = settings.slack_webhook_secret
    channels.append(SlackChannel(lambda: str(parameters.get_secret(secret_id, max_age=300))))
if settings.notify_topic_arn:
    channels.append(SnsChannel(settings.notify_topic_arn, boto3.client("sns")))


class StageChangedEvent(EventBridgeModel):
    detail: LeadStageChanged


# One idempotency record per transition and channel: a retry after one channel failed resends only there.
idempotency = IdempotencyConfig(
    event_key_jmespath="[transition_id, channel]", expires_after_seconds=30 * 24 * 3600
)
by_name = {channel.name: channel for channel in channels}


@idempotent_function(
    data_keyword_argument="delivery",
    persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
    config=idempotency,
)
def deliver_once(delivery: dict[str, Any]) -> dict[str, str]:
    deliver(LeadStageChanged.model_validate(delivery["change"]), by_name[delivery["channel"]])
    return {"sent": delivery["channel"]}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    try:
        change = StageChangedEvent.model_validate(event).detail
    except ValidationError as exc:
        raise invalid_event(exc, "Lead Stage Changed event") from None
    if not channels:
        logger.warning("no notification channel is configured; set NotificationEmail or SlackWebhookUrl")
    payload = change.model_dump(mode="json")
    failed = []
    for name in by_name:
        try:
            deliver_once(delivery={"transition_id": change.transition_id, "channel": name, "change": payload})
        except NotifyFailed as exc:
            logger.warning(
                "notification channel failed",
                channel=name,
                transition_id=change.transition_id,
                reason=str(exc),
            )
            failed.append(name)
    metrics.add_metric(name="SalesNotificationsHandled", unit=MetricUnit.Count, value=1)
    if failed:  # Lambda retries the event; channels that already succeeded are skipped
        metrics.add_metric(name="SalesNotificationChannelFailures", unit=MetricUnit.Count, value=len(failed))
        raise NotifyFailed(f"channels failed: {', '.join(failed)} (transition {change.transition_id})")
    logger.info("sales notified", transition_id=change.transition_id, channels=list(by_name))
    return {"transition_id": change.transition_id, "channels": list(by_name)}
