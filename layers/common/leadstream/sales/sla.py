"""The speed-to-lead timer: one EventBridge Scheduler one-time schedule per hand-over to sales.

`start` creates `at(<due, UTC, to the second>)` in the stack's schedule group, deleted after it fired
(ActionAfterCompletion DELETE), targeting SlaFunction with {lead_id, transition_id}: no polling of leads,
and a deadline days away fires within seconds of it. The schedule's name is a hash of the stage change's
id, so a retried start makes no second one (Scheduler answers ConflictException: it is there already).
`cancel` deletes it once someone acted (a schedule that fired or was deleted already is fine).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.platform import aws
from leadstream.platform.errors import SchedulerUnavailable

# Scheduler's retries of a failed invocation of SlaFunction, then its dead-letter queue
RETRY_ATTEMPTS = 10
RETRY_MAX_AGE_SECONDS = 3600
SOONEST = timedelta(seconds=1)  # a deadline already past fires at once (a late notification, a retry)


def schedule_name(transition_id: str) -> str:
    """A schedule name (Scheduler allows [0-9a-zA-Z-_.], up to 64) for the stage change: 'sla-' + 32 hex."""
    return "sla-" + hashlib.blake2b(transition_id.encode(), digest_size=16).hexdigest()


def at_expression(due: datetime, now: datetime) -> str:
    """`at(yyyy-mm-ddThh:mm:ss)` in UTC for `due`, rounded up to the second, never before `now` + 1 s."""
    when = max(due, now + SOONEST).astimezone(UTC)
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


@dataclass(frozen=True)
class SlaTarget:
    """Where a timer goes (the stack's resources, from settings)."""

    group: str  # the schedule group
    function_arn: str  # SlaFunction
    role_arn: str  # the role Scheduler assumes to invoke it
    dead_letter_arn: str | None = None  # SlaFailuresQueue


class SlaTimers:
    def __init__(self, target: SlaTarget) -> None:
        self.target = target

    def start(self, lead_id: str, transition_id: str, due: datetime, now: datetime) -> str:
        """Create the timer of the stage change `transition_id` (due at `due`); its schedule's name. Safe to
        call again: an existing schedule of that name is the same timer."""
        name = schedule_name(transition_id)
        target: dict[str, Any] = {
            "Arn": self.target.function_arn,
            "RoleArn": self.target.role_arn,
            "Input": json.dumps({"lead_id": lead_id, "transition_id": transition_id}),
            "RetryPolicy": {
                "MaximumRetryAttempts": RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": RETRY_MAX_AGE_SECONDS,
            },
        }
        if self.target.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.target.dead_letter_arn}
        try:
            aws.client("scheduler").create_schedule(
                Name=name,
                GroupName=self.target.group,
                ScheduleExpression=at_expression(due, now),
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target=target,
                Description="Leadstream speed-to-lead deadline",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise SchedulerUnavailable(f"creating an SLA timer failed ({_code(exc)})") from exc
        except BotoCoreError as exc:
            raise SchedulerUnavailable(f"creating an SLA timer failed ({type(exc).__name__})") from exc
        return name

    def cancel(self, sla: dict[str, Any] | None) -> None:
        """Delete the timer `sla` names (when someone accepted or rejected the lead in time). One that fired
        already, or never was, is fine."""
        cancel(self.target.group, sla)


def cancel(group: str, sla: dict[str, Any] | None) -> None:
    """Delete the timer `sla` names from the schedule group `group` (what cancelling needs: the functions
    that only stop timers know no target). One that fired already, or never was, is fine."""
    name = (sla or {}).get("schedule")
    if not name:
        return
    try:
        aws.client("scheduler").delete_schedule(Name=str(name), GroupName=group)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise SchedulerUnavailable(f"deleting an SLA timer failed ({_code(exc)})") from exc
    except BotoCoreError as exc:
        raise SchedulerUnavailable(f"deleting an SLA timer failed ({type(exc).__name__})") from exc


def stopper(group: str, warn: Callable[[str, dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """The sales actions' `on_first_action`: cancels the timer a first accept or reject met. A failure only
    warns (ids and the error code, no personal data): the action stands, and SlaFunction does nothing when
    the schedule fires on a met timer."""

    def stop(sla: dict[str, Any]) -> None:
        try:
            cancel(group, sla)
        except SchedulerUnavailable as exc:
            warn(
                "an SLA timer could not be cancelled; it will fire and find the SLA met",
                {
                    "reason": str(exc),
                    "transition_id": sla.get("transition_id"),
                    "schedule": sla.get("schedule"),
                },
            )

    return stop


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "error"))
