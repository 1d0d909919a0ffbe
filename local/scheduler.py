"""EventBridge Scheduler's schedules, fired locally: what a function scheduled in the local AWS runs when due.

Deployed, Scheduler invokes a schedule's target within seconds of its time. Here a thread asks the local
AWS for its schedules about twice a second and fires each one-time schedule (`at(...)`, in its
ScheduleExpressionTimezone) whose time has come, once:

- a Lambda target (one of the template's functions, by the ARN `!GetAtt F.Arn` gives) is invoked
  asynchronously with the target's Input as the event: Scheduler's part ends when Lambda accepts the event;
  the function's errors are retried by Lambda (its EventInvokeConfig, 2 retries by default) and then go to
  its on-failure destination, not to the schedule's dead-letter queue;
- an SQS target (one of the template's queues) gets the Input as a message;
- a target Scheduler cannot invoke (not one of the stack's functions or queues) goes, with no retry, to the
  schedule's DeadLetterConfig queue as Scheduler sends a dead-letter event: the Input as the body, the error,
  schedule and target in message attributes. A failure that can pass is retried by the RetryPolicy first.

After the run (handed over, or dead-lettered) a schedule with ActionAfterCompletion DELETE is deleted; any
other is left as it is and never fires again until it is updated. A disabled or deleted schedule never
fires. Recurring schedules (`rate(...)`, `cron(...)`) are not fired locally: the runner says so once.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from local.events import invoke_async
from local.template import Stack
from local.workers import Pool

Log = Callable[[str], None]
POLL_SECONDS = 0.5
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
# The context attributes Scheduler replaces in a target's Input.
_CONTEXT = re.compile(r"<aws\.scheduler\.(schedule-arn|scheduled-time|execution-id|attempt-number)>")


def due_at(expression: str, timezone: str | None = None) -> datetime | None:
    """When a one-time schedule is due (UTC); None for a recurring one (rate, cron)."""
    found = _AT.fullmatch(expression.strip())
    if not found:
        if expression.strip().startswith(("rate(", "cron(")):
            return None
        raise ValueError(f"not a schedule expression: {expression!r}")
    local = datetime.fromisoformat(found.group(1)).replace(tzinfo=ZoneInfo(timezone or "UTC"))
    return local.astimezone(UTC)


class TargetError(Exception):
    """Scheduler could not hand the Input to the target (ERROR_CODE and ERROR_MESSAGE of the dead-letter
    event). `retryable` False: straight to the dead-letter queue, as a missing target or permission goes."""

    def __init__(self, code: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.code, self.retryable = code, retryable


@dataclass(frozen=True)
class Run:
    """One firing of a schedule."""

    schedule: dict[str, Any]
    scheduled_time: datetime
    execution_id: str

    def input(self, attempt: int) -> str:
        text = str(self.schedule["Target"].get("Input", "{}"))
        values = {
            "schedule-arn": str(self.schedule["Arn"]),
            "scheduled-time": self.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "execution-id": self.execution_id,
            "attempt-number": str(attempt),
        }
        return _CONTEXT.sub(lambda m: values[m.group(1)], text)


class Scheduler(threading.Thread):
    """Fires the local AWS's schedules into the stack's functions and queues when they are due."""

    def __init__(
        self,
        stack: Stack,
        pools: dict[str, Pool],
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name="scheduler")
        self.stack, self.pools, self.aws, self.queues, self.stop_event, self.log = (
            stack,
            pools,
            aws,
            queues,
            stop,
            log,
        )
        self._details: dict[tuple[str, Any], dict[str, Any]] = {}  # (ARN, last modified) -> schedule
        self._done: set[tuple[str, Any]] = set()  # fired, or not to be fired locally

    def run(self) -> None:
        while not self.stop_event.wait(POLL_SECONDS):
            try:
                self.tick(datetime.now(UTC))
            except Exception as exc:  # keep polling: an operator sees the error
                if not self.stop_event.is_set():
                    self.log(f"scheduler: polling error: {exc}")

    def tick(self, now: datetime) -> list[threading.Thread]:
        """Fire what is due at `now` and not fired yet; the runs, each on a thread of its own."""
        started = []
        listed = self._enabled()
        keys = {(str(s["Arn"]), s.get("LastModificationDate")) for s in listed}
        # What is gone (deleted, or updated into a new version) needs no memory.
        self._done &= keys
        self._details = {k: v for k, v in self._details.items() if k in keys}
        for summary in listed:
            key = (str(summary["Arn"]), summary.get("LastModificationDate"))
            if key in self._done:
                continue
            schedule = self._details.get(key) or self._describe(summary)
            if schedule is None:
                continue  # deleted meanwhile
            self._details[key] = schedule
            try:
                due = due_at(str(schedule["ScheduleExpression"]), schedule.get("ScheduleExpressionTimezone"))
            except ValueError as exc:
                due, error = None, str(exc)
            else:
                error = "recurring schedules are not fired locally"
            if due is None:
                self._done.add(key)
                self.log(f"scheduler: {summary['Name']}: {error}")
                continue
            if due > now:
                continue
            self._done.add(key)
            del self._details[key]
            run = Run(schedule, due, str(uuid.uuid4()))
            thread = threading.Thread(target=self._fire, args=(run,), daemon=True, name="schedule")
            thread.start()
            started.append(thread)
        return started

    def _enabled(self) -> list[dict[str, Any]]:
        scheduler = self.aws["scheduler"]
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"State": "ENABLED"}
        while True:
            page = scheduler.list_schedules(**kwargs)
            found += page.get("Schedules", [])
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def _describe(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        try:
            schedule: dict[str, Any] = self.aws["scheduler"].get_schedule(
                Name=summary["Name"], GroupName=summary["GroupName"]
            )
        except self.aws["scheduler"].exceptions.ResourceNotFoundException:
            return None
        return schedule

    def _fire(self, run: Run) -> None:
        schedule = run.schedule
        policy = schedule["Target"].get("RetryPolicy", {})
        retries = int(policy.get("MaximumRetryAttempts", 185))
        max_age = float(policy.get("MaximumEventAgeInSeconds", 86_400))
        attempt, started = 1, time.monotonic()
        while True:
            try:
                self._hand_over(run, attempt)
                break
            except TargetError as exc:
                exhausted = None
                if exc.retryable and attempt > retries:
                    exhausted = "MaximumRetryAttempts"
                elif exc.retryable and time.monotonic() - started > max_age:
                    exhausted = "MaximumEventAgeInSeconds"
                if exc.retryable and exhausted is None and not self.stop_event.is_set():
                    self.stop_event.wait(min(0.2 * 2 ** (attempt - 1), 5.0))  # Scheduler backs off longer
                    attempt += 1
                    continue
                self._dead_letter(run, exc, attempt - 1, exhausted)
                break
        if schedule.get("ActionAfterCompletion") == "DELETE":
            try:
                self.aws["scheduler"].delete_schedule(Name=schedule["Name"], GroupName=schedule["GroupName"])
            except self.aws["scheduler"].exceptions.ResourceNotFoundException:
                pass

    def _hand_over(self, run: Run, attempt: int) -> None:
        target = run.schedule["Target"]
        logical_id = self.stack.by_arn(str(target["Arn"]))
        kind = self.stack.resources[logical_id]["Type"] if logical_id else None
        text = run.input(attempt)
        if kind == "AWS::Serverless::Function" and logical_id in self.pools:
            try:
                event = json.loads(text)
            except ValueError as exc:
                raise TargetError(
                    "InvalidRequestContentException", f"Could not parse request body: {exc}", False
                ) from exc
            function = self.stack.functions[logical_id]
            on_failure = self.queues[function.on_failure_queue] if function.on_failure_queue else None
            self.log(f"scheduler: {run.schedule['Name']} -> {logical_id}")
            # An asynchronous invoke: Lambda has the event now, its retries are Lambda's own.
            threading.Thread(
                target=invoke_async,
                args=(
                    self.pools[logical_id],
                    event,
                    function.async_retries,
                    on_failure,
                    self.aws["sqs"],
                    self.log,
                ),
                daemon=True,
                name=f"scheduled-{logical_id}",
            ).start()
            return
        if kind == "AWS::SQS::Queue" and logical_id in self.queues:
            try:
                self.aws["sqs"].send_message(QueueUrl=self.queues[logical_id], MessageBody=text)
            except Exception as exc:
                raise TargetError("SQSError", str(exc), True) from exc
            return
        raise TargetError(
            "ResourceNotFoundException",
            f"the target {target['Arn']} is not a function or queue of this stack",
            False,
        )

    def _dead_letter(self, run: Run, error: TargetError, retries: int, exhausted: str | None) -> None:
        """Scheduler's dead-letter event: the Input as the body, what happened in message attributes."""
        schedule = run.schedule
        self.log(f"scheduler: {schedule['Name']} could not invoke its target: {error}")
        queue_arn = schedule["Target"].get("DeadLetterConfig", {}).get("Arn")
        queue = self.stack.by_arn(str(queue_arn)) if queue_arn else None
        if queue is None or queue not in self.queues:
            return  # no dead-letter queue (or not one of the stack's): the run is dropped, as in AWS
        attributes = {
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": str(error),
            "EXECUTION_ID": run.execution_id,
            "IS_PAYLOAD_TRUNCATED": "false",
            "RETRY_ATTEMPTS": str(retries),
            "SCHEDULED_TIME": run.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "SCHEDULE_ARN": str(schedule["Arn"]),
            "TARGET_ARN": str(schedule["Target"]["Arn"]),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        self.aws["sqs"].send_message(
            QueueUrl=self.queues[queue],
            MessageBody=run.input(retries + 1),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
