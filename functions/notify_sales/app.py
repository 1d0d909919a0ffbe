"""NotifySalesFunction: target of the 'lead became SQL' rule; tells sales once per stage change.

It is handed a reference to the stage change (the rule's InputTransformer), never the card: what a failure
parks in NotifyFailuresQueue for 14 days holds no personal data. The card is read when it is sent.
Before it sends, the lead is handed over: its owner assigned by the rules and its SLA timer started
(`sales.handover`), so the notification names the owner.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.contracts.events import AccountCard, LeadStageChanged
from leadstream.notifications.cards import AccountCards, Cards
from leadstream.notifications.message import deliver
from leadstream.notifications.notifiers import configured
from leadstream.platform.errors import NotifyFailed, invalid_event
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import HandOverSettings
from leadstream.sales.assignment_file import load_rules
from leadstream.sales.handover import HandOver
from leadstream.sales.sla import SlaTarget, SlaTimers
from leadstream.scoring.model_file import load_model
from pydantic import BaseModel, ValidationError

settings = HandOverSettings.from_env()


notifiers = configured(
    settings.notifications_file,
    settings.slack_webhook_secret,
    settings.notify_topic_arn,
    card_url=settings.sales_app_url,
)
cards = Cards(settings.leads_table)
accounts = AccountCards(
    AccountLedger(settings.accounts_table, settings.leads_table),
    load_account_model(settings.account_model),
    load_model(settings.scoring_model),
)
handover = HandOver(
    settings.leads_table,
    settings.accounts_table,
    load_rules(settings.assignment_rules),
    SlaTimers(
        SlaTarget(
            settings.sla_schedule_group,
            settings.sla_function_arn,
            settings.sla_scheduler_role_arn,
            settings.sla_dead_letter_arn,
        )
    ),
)
# One idempotency record per transition and notifier: a retry after one failed resends only there.
once = Once(settings.idempotency_table, key="[transition_id, channel]")


class StageChangeReference(BaseModel):
    """What the rule hands over: which stage change (the rest is read from the leads table)."""

    transition_id: str
    lead_id: str
    from_stage: str | None = None
    to_stage: str | None = None
    changed_at: datetime | None = None


@once
def deliver_once(payload: dict[str, Any]) -> dict[str, str]:
    account = AccountCard.model_validate(payload["account"]) if payload.get("account") else None
    change = LeadStageChanged.model_validate(payload["change"])
    deliver(change, notifiers[payload["channel"]], account, payload.get("owner"))
    return {"sent": payload["channel"]}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once.register(context)
    try:
        reference = StageChangeReference.model_validate(event)
    except ValidationError as exc:
        raise invalid_event(exc, "reference to a stage change") from None
    change = cards.change(reference.lead_id, reference.transition_id)
    if change is None:  # the person was erased since: nothing of theirs is left to send
        logger.warning("stage change not found; nothing to send", transition_id=reference.transition_id)
        metrics.add_metric(name="SalesNotificationsSkipped", unit=MetricUnit.Count, value=1)
        return {"transition_id": reference.transition_id, "skipped": "lead erased; nothing to send"}
    handed = handover.run(change, datetime.now(UTC))
    if handed.sla is not None:
        logger.info(
            "lead handed to sales", lead_id=change.lead_id, team=handed.team, due_at=handed.sla["due_at"]
        )
    if not notifiers:
        logger.warning("no notification channel is configured; set NotificationEmail or SlackWebhookUrl")
    payload = change.model_dump(mode="json")
    account = accounts.card(change.card.account)
    about = account.model_dump(mode="json") if account else None
    failed = []
    for name in notifiers:
        try:
            deliver_once(
                payload={
                    "transition_id": change.transition_id,
                    "channel": name,
                    "change": payload,
                    "account": about,
                    "owner": handed.owner,
                }
            )
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
    logger.info("sales notified", transition_id=change.transition_id, channels=list(notifiers))
    return {"transition_id": change.transition_id, "channels": list(notifiers)}
