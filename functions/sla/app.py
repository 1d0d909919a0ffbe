"""SlaFunction: a lead's speed-to-lead deadline passed (its EventBridge Scheduler schedule fired with
{lead_id, transition_id}). If nobody accepted or rejected the lead, the SLA is breached ('Lead SLA
Breached' on the bus) and escalated: the owner is reminded and the team's managers are told, once per
channel however often the schedule delivers.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.events import LeadStageChanged
from leadstream.notifications.cards import Cards
from leadstream.notifications.message import Notifier, escalation
from leadstream.notifications.notifiers import configured, slack_from_secret
from leadstream.platform.errors import NotifyFailed, invalid_event
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import SlaSettings
from leadstream.sales.assignment_file import load_rules
from leadstream.sales.escalation import Deadlines
from pydantic import BaseModel, ValidationError

settings = SlaSettings.from_env()
rules = load_rules(settings.assignment_rules)
deadlines = Deadlines(settings.leads_table)
cards = Cards(settings.leads_table)
notifiers = configured(settings.notifications_file, settings.slack_webhook_secret, settings.notify_topic_arn)
managers = {t.name: slack_from_secret(t.manager_channel) for t in rules.teams if t.manager_channel}
# One idempotency record per breach and channel: a second delivery, or a retry after one channel failed,
# tells each channel once.
once = Once(settings.idempotency_table, key="[transition_id, channel]")


class TimerFired(BaseModel):
    """What the schedule hands over: which lead and which hand-over's timer."""

    lead_id: str
    transition_id: str


def _channels(owner: str | None) -> list[str]:
    """The channels of an escalation: the owner's reminder on the stack's channels ("reminder:<name>");
    the managers' alert on their team's own Slack channel if it has one ("team:<team>"), else on the
    stack's channels ("managers:<name>")."""
    found = [f"reminder:{name}" for name in notifiers]
    team = rules.team_of(owner)
    if team.name in managers:
        return [*found, f"team:{team.name}"]
    return found + [f"managers:{name}" for name in notifiers]


def _notifier(channel: str) -> tuple[Notifier, bool]:
    """The notifier of a channel, and whether it tells the managers."""
    kind, name = channel.split(":", 1)
    return (managers[name], True) if kind == "team" else (notifiers[name], kind == "managers")


@once
def escalate_once(payload: dict[str, Any]) -> dict[str, str]:
    change = LeadStageChanged.model_validate(payload["change"])
    channel = payload["channel"]
    notifier, to_managers = _notifier(channel)
    subject, text = escalation(change, payload["owner"], payload["allowed"], payload["late"], to_managers)
    notifier.send(subject, text, {"escalation": channel, "owner": payload["owner"], **payload["change"]})
    return {"sent": channel}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    once.register(context)
    try:
        fired = TimerFired.model_validate(event)
    except ValidationError as exc:
        raise invalid_event(exc, "SLA timer input") from None
    overdue = deadlines.passed(fired.lead_id, fired.transition_id, datetime.now(UTC))
    if overdue is None:
        logger.info(
            "SLA timer fired; nothing to escalate (met, replaced, merged or erased)", **fired.model_dump()
        )
        metrics.add_metric(name="SlaTimersSkipped", unit=MetricUnit.Count, value=1)
        return {"transition_id": fired.transition_id, "skipped": "nothing to escalate"}
    if overdue.newly:
        metrics.add_metric(name="SlaBreaches", unit=MetricUnit.Count, value=1)
    change = cards.change(fired.lead_id, fired.transition_id)
    if change is None:
        logger.warning("SLA breached but the stage change is gone; nobody told", **fired.model_dump())
        return {"transition_id": fired.transition_id, "skipped": "lead erased"}
    allowed = (overdue.due_at - overdue.started_at).total_seconds()
    late = (overdue.breached_at - overdue.due_at).total_seconds()
    failed = []
    channels = _channels(overdue.owner)
    for channel in channels:
        try:
            escalate_once(
                payload={
                    "transition_id": fired.transition_id,
                    "channel": channel,
                    "change": change.model_dump(mode="json"),
                    "owner": overdue.owner,
                    "allowed": allowed,
                    "late": late,
                }
            )
        except NotifyFailed as exc:
            logger.warning(
                "escalation channel failed", channel=channel, reason=str(exc), **fired.model_dump()
            )
            failed.append(channel)
    if failed:  # the invocation is retried; channels already told are skipped
        raise NotifyFailed(f"channels failed: {', '.join(failed)} (transition {fired.transition_id})")
    logger.info("SLA breach escalated", late_seconds=round(late), **fired.model_dump())
    return {"transition_id": fired.transition_id, "escalated": channels}
